/**
 * Image references as docker and podman spell them:
 * `[domain[:port]/]path[:tag][@algo:hex]`.
 *
 * Parsing is pure and strict: a reference that docker would refuse is a
 * CtrError naming the input. Whether a reference without a domain is a
 * short name to resolve through registries.conf is decided by the caller
 * (`src/image/short-names.ts`).
 */
import { CtrError } from "../errors.ts";

export interface Reference {
  /** Registry host, with port; undefined for a short name. */
  domain?: string;
  /** Repository path inside the registry, e.g. `library/alpine`. */
  path: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = "docker.io";
export const DEFAULT_TAG = "latest";

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$|^\[[0-9a-fA-F:.]+\](?::[0-9]+)?$/;
const MAX_NAME = 255;

function invalid(input: string, why: string): CtrError {
  return new CtrError(`invalid reference "${input}": ${why}`, { kind: "invalid" });
}

/** True when the first path component names a registry rather than a repository. */
function looksLikeDomain(component: string): boolean {
  return component.includes(".") || component.includes(":") || component === "localhost" || component.startsWith("[");
}

/** Parses a reference without resolving short names; throws on anything docker would reject. */
export function parseReference(input: string): Reference {
  if (input === "") throw invalid(input, "empty reference");
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(input, `invalid digest "${digest}"`);
    if (digest.startsWith("sha256:") && !/^sha256:[a-f0-9]{64}$/.test(digest)) {
      throw invalid(input, `invalid sha256 digest "${digest}"`);
    }
  }
  let domain: string | undefined;
  const slash = rest.indexOf("/");
  if (slash > 0 && looksLikeDomain(rest.slice(0, slash))) {
    domain = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
    if (!DOMAIN.test(domain)) throw invalid(input, `invalid registry "${domain}"`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `invalid tag "${tag}"`);
  }
  if (rest === "") throw invalid(input, "missing repository name");
  if (rest.length > MAX_NAME) throw invalid(input, `repository name longer than ${MAX_NAME} characters`);
  for (const component of rest.split("/")) {
    if (!PATH_COMPONENT.test(component)) {
      const why = component.toLowerCase() !== component && PATH_COMPONENT.test(component.toLowerCase())
        ? "repository name must be lowercase"
        : `invalid repository name component "${component}"`;
      throw invalid(input, why);
    }
  }
  return { domain, path: rest, tag, digest };
}

/** Completes a fully qualified reference: docker.io's `library/` and the default tag. */
export function normalize(ref: Reference & { domain: string }): Reference & { domain: string } {
  let path = ref.path;
  if (ref.domain === DOCKER_HUB && !path.includes("/")) path = `library/${path}`;
  const tag = ref.tag ?? (ref.digest ? undefined : DEFAULT_TAG);
  return { domain: ref.domain, path, tag, digest: ref.digest };
}

/** `domain/path[:tag][@digest]`, the canonical spelling stored and shown. */
export function formatReference(ref: Reference): string {
  let s = ref.domain ? `${ref.domain}/${ref.path}` : ref.path;
  if (ref.tag) s += `:${ref.tag}`;
  if (ref.digest) s += `@${ref.digest}`;
  return s;
}

/** The repository part alone, as `images` shows it in its REPOSITORY column. */
export function repositoryOf(ref: Reference): string {
  return ref.domain ? `${ref.domain}/${ref.path}` : ref.path;
}
