/**
 * A client for one repository on one registry, per the OCI distribution spec
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md).
 *
 * It knows HTTP, auth challenges and redirects; it knows nothing about the
 * store. Insecure registries (registries.conf `insecure = true`) are tried
 * over https without verification first, then over plain http, as podman does.
 * A loopback registry may also fall back to plain http, but its certificate,
 * when it speaks https, is verified against the system CAs and certs.d.
 *
 * Every request is bounded in time: `CTR_REGISTRY_TIMEOUT` seconds (default
 * 30) for the response headers, and as long again without a byte while a
 * body streams. A blob cut short is resumed with `Range`.
 *
 * Pushes upload a blob in one PUT up to `CTR_PUSH_CHUNK_SIZE` bytes (default
 * 8 MiB), and above that in PATCH chunks of that size (the spec's chunked
 * upload), so a big layer is never one request that must not fail.
 */
import { rootCertificates } from "node:tls";
import { CtrError, errorText } from "../../errors.ts";
import { INDEX_TYPES, MANIFEST_TYPES, type Descriptor } from "../../oci/image.ts";
import type { PullSource } from "../registries-conf.ts";
import { findCredentials, parseChallenge, type Credentials } from "./auth.ts";
import { certsDirs, loadCertsD } from "./certs-d.ts";

const MANIFEST_ACCEPT = [...MANIFEST_TYPES, ...INDEX_TYPES].join(", ");
const DEFAULT_TIMEOUT_MS = 30_000;
/** How many times one blob download is resumed after the connection broke or went idle. */
const MAX_RESUMES = 3;
const MAX_REDIRECTS = 5;
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

/** Docker Hub's API lives on another host than its name. */
function apiHost(registry: string): string {
  return registry === "docker.io" || registry === "index.docker.io" ? "registry-1.docker.io" : registry;
}

/**
 * Like docker, a registry on the loopback interface may speak plain http
 * without being listed as insecure: nothing leaves the machine.
 */
function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `CTR_REGISTRY_TIMEOUT` (seconds, fractions allowed) in milliseconds. */
export function registryTimeoutMs(env = process.env): number {
  const text = env.CTR_REGISTRY_TIMEOUT;
  if (text === undefined || text === "") return DEFAULT_TIMEOUT_MS;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new CtrError(`invalid CTR_REGISTRY_TIMEOUT "${text}": expected a positive number of seconds`, { kind: "invalid" });
  return Math.round(seconds * 1000);
}

/** `CTR_PUSH_CHUNK_SIZE` in bytes: blobs above it are pushed in PATCH chunks of that size. */
export function pushChunkBytes(env = process.env): number {
  const text = env.CTR_PUSH_CHUNK_SIZE;
  if (text === undefined || text === "") return DEFAULT_CHUNK_BYTES;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new CtrError(`invalid CTR_PUSH_CHUNK_SIZE "${text}": expected a positive number of bytes`, { kind: "invalid" });
  return n;
}

/** Bun's TLS errors for a certificate that does not verify (as opposed to a server that does not speak TLS). */
function isCertificateError(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? "");
  return /CERT|UNABLE_TO_(VERIFY|GET_ISSUER)|SELF_SIGNED|ALTNAME/.test(code);
}

type TlsInit = { rejectUnauthorized: boolean; ca?: string[]; cert?: string; key?: string };

export interface FetchedManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
}

export class RegistryClient {
  readonly registry: string;
  readonly repository: string;
  private readonly insecure: boolean;
  private readonly allowHttp: boolean;
  private readonly tls: TlsInit;
  private readonly timeoutMs: number;
  private readonly env: NodeJS.ProcessEnv;
  private scheme: "https" | "http" | undefined;
  private authorization: string | undefined;
  private readonly credentials: Credentials | undefined;

  /** Token scope actions: `pull`, or `pull,push` for a client that pushes. */
  private readonly actions: string;
  /** Blobs above this many bytes are uploaded in chunks of it. */
  private readonly chunkBytes: number;

  constructor(source: PullSource, env = process.env, opts: { push?: boolean; credentials?: Credentials } = {}) {
    this.registry = source.registry;
    this.repository = source.repository;
    this.insecure = source.insecure;
    this.allowHttp = source.insecure || isLoopback(source.registry);
    this.env = env;
    this.timeoutMs = registryTimeoutMs(env);
    const certs = loadCertsD(source.registry, env);
    // Bun's `ca` replaces the default roots; podman adds certs.d CAs to the system pool.
    this.tls = { rejectUnauthorized: !this.insecure, ...(certs && { ca: [...rootCertificates, ...certs.ca], cert: certs.cert, key: certs.key }) };
    this.credentials = opts.credentials ?? findCredentials(source.registry, source.repository, env);
    this.actions = opts.push ? "pull,push" : "pull";
    // Read up front, so a bad value fails a push before anything is sent.
    this.chunkBytes = opts.push ? pushChunkBytes(env) : DEFAULT_CHUNK_BYTES;
  }

  /** GET /v2/ and answer its challenge: whether these credentials are good (login). */
  async ping(): Promise<void> {
    await this.request("GET", "/v2/", {});
  }

  /** Whether the repository has the blob (HEAD), so a push can skip it. */
  async hasBlob(digest: string): Promise<boolean> {
    try {
      await this.request("HEAD", `blobs/${digest}`, {});
      return true;
    } catch (err) {
      if (err instanceof CtrError && err.kind === "not-found") return false;
      throw err;
    }
  }

  /**
   * Asks the registry to mount `digest` from `fromRepository` on the same
   * registry (cross-repository blob mount). Returns true if mounted; false
   * if the registry declined (it then opened an upload, which is cancelled).
   */
  async mountBlob(digest: string, fromRepository: string): Promise<boolean> {
    const res = await this.request("POST", `blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepository)}`, {});
    await res.body?.cancel();
    if (res.status === 201) return true;
    const location = res.headers.get("location");
    if (location) await this.send("DELETE", location, {}).then((r) => r.body?.cancel()).catch(() => undefined);
    return false;
  }

  /**
   * Uploads a blob: POST opens an upload session; a blob up to
   * `CTR_PUSH_CHUNK_SIZE` bytes then goes in one PUT with its digest
   * (monolithic), a bigger one in PATCH chunks with `Content-Range`, each
   * to the Location the previous answer gave, closed by an empty PUT with
   * the digest.
   *
   * @param sent called with the byte count of each chunk the registry took
   */
  async uploadBlob(digest: string, body: Blob, sent?: (bytes: number) => void): Promise<void> {
    const start = await this.request("POST", "blobs/uploads/", {});
    await start.body?.cancel();
    let location = start.headers.get("location");
    if (start.status !== 202 || !location) throw new CtrError(`blob upload to ${this.where}: registry answered HTTP ${start.status} without an upload location`, { kind: "unavailable" });
    // Distribution spec 1.1: a registry may ask for chunks of at least OCI-Chunk-Min-Length bytes.
    const chunk = Math.max(this.chunkBytes, Number(start.headers.get("oci-chunk-min-length")) || 0);
    if (body.size <= chunk) {
      const put = await this.request("PUT", uploadTarget(location, digest), { "Content-Type": "application/octet-stream", "Content-Length": String(body.size) }, body);
      await put.body?.cancel();
      sent?.(body.size);
      return;
    }
    for (let off = 0; off < body.size; off += chunk) {
      const end = Math.min(body.size, off + chunk);
      const headers = { "Content-Type": "application/octet-stream", "Content-Range": `${off}-${end - 1}`, "Content-Length": String(end - off) };
      const res = await this.request("PATCH", uploadTarget(location), headers, body.slice(off, end));
      await res.body?.cancel();
      // The registry's Range says what it holds: anything but 0-(end-1) means the chunk did not land whole.
      const held = /^(?:bytes=)?0-(\d+)$/.exec(res.headers.get("range") ?? "");
      if (res.status !== 202 || (held && Number(held[1]) !== end - 1)) {
        throw new CtrError(`blob upload to ${this.where}: the registry holds ${held ? Number(held[1]) + 1 : "?"} bytes of ${digest} after a chunk ending at ${end} (HTTP ${res.status})`, { kind: "unavailable" });
      }
      location = res.headers.get("location") ?? location;
      sent?.(end - off);
    }
    const put = await this.request("PUT", uploadTarget(location, digest), { "Content-Length": "0" });
    await put.body?.cancel();
  }

  /** PUT a manifest under a tag or digest; returns the digest the registry reports. */
  async putManifest(reference: string, mediaType: string, bytes: Uint8Array): Promise<string | undefined> {
    const res = await this.request("PUT", `manifests/${reference}`, { "Content-Type": mediaType }, new Blob([bytes as Uint8Array<ArrayBuffer>]));
    await res.body?.cancel();
    return res.headers.get("docker-content-digest") ?? undefined;
  }

  /** Where messages say this client is talking to. */
  get where(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** GET a manifest or index by tag or digest, verifying the digest when one was asked for. */
  async getManifest(reference: string): Promise<FetchedManifest> {
    const res = await this.request("GET", `manifests/${reference}`, { Accept: MANIFEST_ACCEPT });
    const length = Number(res.headers.get("content-length") ?? "0");
    if (length > MAX_MANIFEST_BYTES) throw new CtrError(`manifest ${this.where}:${reference} is too large (${length} bytes)`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const digest = `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
    if (reference.includes(":") && reference !== digest) {
      throw new CtrError(`manifest ${this.where}@${reference} does not match its digest: got ${digest}`, { kind: "invalid" });
    }
    const declared = res.headers.get("docker-content-digest");
    if (declared && declared.startsWith("sha256:") && declared !== digest) {
      throw new CtrError(`manifest ${this.where}:${reference} does not match the digest the registry declared (${declared}): got ${digest}`, { kind: "invalid" });
    }
    const mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
    return { bytes, mediaType, digest };
  }

  /** Every tag of the repository (GET /v2/<name>/tags/list, following `Link` pages). */
  async listTags(): Promise<string[]> {
    const tags: string[] = [];
    let path = "tags/list";
    for (let page = 0; page < 1000; page++) {
      const res = await this.request("GET", path, { Accept: "application/json" });
      const body = (await res.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get("link") ?? "");
      if (!link) break;
      const next = new URL(link[1]!, "http://x");
      path = `tags/list${next.search}`;
    }
    return tags;
  }

  /**
   * GET a blob; the body is the caller's to stream and verify. When the
   * connection breaks or goes idle before `desc.size` bytes, the rest is
   * asked for with `Range: bytes=<received>-` (up to MAX_RESUMES times).
   */
  async getBlob(desc: Descriptor): Promise<Response> {
    const path = `blobs/${desc.digest}`;
    const first = await this.request("GET", path, {});
    if (!first.body) return first;
    let reader = first.body.getReader();
    // A body that ends cleanly at its own Content-Length is complete even if
    // shorter than the descriptor: that is a lying descriptor, not a cut.
    const declared = Number(first.headers.get("content-length") ?? Number.NaN);
    let received = 0;
    let resumes = 0;
    const resume = async (cause: unknown): Promise<void> => {
      await reader.cancel().catch(() => undefined);
      if (resumes++ >= MAX_RESUMES) {
        if (cause instanceof CtrError) throw cause;
        throw new CtrError(`blob ${this.where}@${desc.digest}: download interrupted after ${received} of ${desc.size} bytes${cause ? `: ${errorText(cause)}` : ""}`, { kind: "unavailable", cause });
      }
      const res = await this.request("GET", path, received > 0 ? { Range: `bytes=${received}-` } : {});
      const start = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "");
      if (received > 0 && (res.status !== 206 || Number(start?.[1]) !== received)) {
        await res.body?.cancel();
        throw new CtrError(`blob ${this.where}@${desc.digest}: interrupted after ${received} bytes and the registry cannot resume it (HTTP ${res.status})`, { kind: "unavailable", cause });
      }
      if (!res.body) throw new CtrError(`blob ${this.where}@${desc.digest}: empty response on resume`, { kind: "unavailable" });
      reader = res.body.getReader();
    };
    const body = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        for (;;) {
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          try {
            chunk = await reader.read();
          } catch (err) {
            // Only transport failures are worth a resume; anything else is final.
            if (err instanceof CtrError && err.kind !== "unavailable") throw err;
            await resume(err);
            continue;
          }
          if (!chunk.done) {
            received += chunk.value.length;
            ctl.enqueue(chunk.value);
            return;
          }
          if (received >= desc.size || received === declared) {
            ctl.close();
            return;
          }
          await resume(undefined);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: first.status, headers: first.headers });
  }

  private async request(method: string, path: string, headers: Record<string, string>, body?: Blob): Promise<Response> {
    let res = await this.send(method, path, headers, body);
    if (res.status === 401) {
      await this.authenticate(res);
      res = await this.send(method, path, headers, body);
    }
    if (res.ok) return res;
    await res.body?.cancel();
    throw this.statusError(res.status, path);
  }

  private statusError(status: number, path: string): CtrError {
    const what = path.startsWith("manifests/")
      ? `manifest ${this.where}:${path.slice(10)}`
      : path.startsWith("blobs/uploads") || path.startsWith("/") || path.startsWith("http")
        ? path === "/v2/" ? `registry ${this.registry}` : `blob upload to ${this.where}`
        : path.startsWith("blobs/")
          ? `blob ${this.where}@${path.slice(6)}`
          : `repository ${this.where}`;
    if (status === 404) return new CtrError(`${what}: not found`, { kind: "not-found" });
    if (status === 401 && this.credentials) return new CtrError(`${what}: the credentials for "${this.registry}" were refused (HTTP 401)`, { kind: "invalid" });
    if (status === 401) return new CtrError(`${what}: authentication required${this.credentials ? " (the stored credentials were refused)" : ""}`, { kind: "invalid" });
    if (status === 403) return new CtrError(`${what}: access denied`, { kind: "invalid" });
    return new CtrError(`${what}: registry answered HTTP ${status}`, { kind: "unavailable" });
  }

  /** Sends one request, choosing the scheme once and following redirects by hand. */
  private async send(method: string, path: string, headers: Record<string, string>, body?: Blob): Promise<Response> {
    const host = apiHost(this.registry);
    const schemes = this.scheme ? [this.scheme] : this.allowHttp ? (["https", "http"] as const) : (["https"] as const);
    let lastErr: unknown;
    for (const scheme of schemes) {
      try {
        // Upload locations come back as absolute URLs or absolute paths.
        const url = /^https?:/.test(path) ? path : path.startsWith("/") ? `${scheme}://${host}${path}` : `${scheme}://${host}/v2/${this.repository}/${path}`;
        const res = await this.follow(method, url, headers, body);
        if (scheme === "http" && lastErr !== undefined) await this.refuseHttpsOnly(res, lastErr);
        this.scheme = scheme;
        return res;
      } catch (err) {
        if (err instanceof CtrError) throw err;
        // A server that speaks TLS with a certificate we do not trust will not speak plain http either.
        if (scheme === "https" && isCertificateError(err)) {
          throw new CtrError(
            `cannot reach registry "${this.registry}": its TLS certificate is not trusted (${errorText(err)}); put its CA in ${certsDirs(this.env)[0]}/${this.registry}/ca.crt or /etc/containers/certs.d/${this.registry}/ca.crt`,
            { kind: "unavailable", cause: err },
          );
        }
        lastErr = err;
      }
    }
    throw new CtrError(`cannot reach registry "${this.registry}": ${errorText(lastErr)}`, { kind: "unavailable", cause: lastErr });
  }

  /**
   * After https failed and plain http was tried: Go's TLS servers (the CNCF
   * registry) answer plain http with 400 "Client sent an HTTP request to an
   * HTTPS server". Then the registry speaks https only and the handshake
   * itself failed, most often for want of a client certificate: say that,
   * not "HTTP 400".
   */
  private async refuseHttpsOnly(res: Response, httpsErr: unknown): Promise<void> {
    if (res.status !== 400) return;
    const text = await res.clone().text().catch(() => "");
    if (!/HTTPS server/i.test(text)) return;
    await res.body?.cancel().catch(() => undefined);
    const where = `${certsDirs(this.env)[0]}/${this.registry}/`;
    const why = this.tls.cert
      ? `the TLS handshake failed with the client certificate from certs.d (${errorText(httpsErr)})`
      : `the TLS handshake failed (${errorText(httpsErr)}); if it requires a client certificate, put client.cert and client.key in ${where}`;
    throw new CtrError(`cannot reach registry "${this.registry}": ${why}`, { kind: "unavailable", cause: httpsErr });
  }

  /**
   * Redirects are followed manually so that `Authorization` is never sent to
   * another host (blob storage behind a redirect must not see our token).
   */
  private async follow(method: string, url: string, headers: Record<string, string>, body?: Blob): Promise<Response> {
    const origin = new URL(url).host;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const sameHost = new URL(url).host === origin;
      const h: Record<string, string> = { ...headers, "User-Agent": "ctr/0.1" };
      if (sameHost && this.authorization) h.Authorization = this.authorization;
      const res = await fetchWithTimeout(url, { method, headers: h, body, redirect: "manual", tls: this.tls }, this.timeoutMs, this.registry);
      if (res.status >= 300 && res.status < 400 && res.headers.get("location")) {
        await res.body?.cancel();
        url = new URL(res.headers.get("location")!, url).toString();
        continue;
      }
      return res;
    }
    throw new CtrError(`registry "${this.registry}": too many redirects`, { kind: "unavailable" });
  }

  /** Answers a 401 challenge: Basic with stored credentials, or a Bearer token from the realm. */
  private async authenticate(res: Response): Promise<void> {
    await res.body?.cancel();
    const challenge = parseChallenge(res.headers.get("www-authenticate") ?? "");
    const basic = this.credentials ? `Basic ${btoa(`${this.credentials.username}:${this.credentials.password}`)}` : undefined;
    if (!challenge || challenge.scheme === "basic") {
      if (!basic) throw new CtrError(`registry "${this.registry}": authentication required (use ctr login ${this.registry})`, { kind: "invalid" });
      this.authorization = basic;
      return;
    }
    if (challenge.scheme !== "bearer" || !challenge.params.realm) {
      throw new CtrError(`registry "${this.registry}": unsupported authentication scheme "${challenge.scheme}"`, { kind: "unavailable" });
    }
    const realm = new URL(challenge.params.realm);
    if (challenge.params.service) realm.searchParams.set("service", challenge.params.service);
    realm.searchParams.set("scope", this.actions === "pull" && challenge.params.scope ? challenge.params.scope : `repository:${this.repository}:${this.actions}`);
    const tokenRes = await fetchWithTimeout(realm.toString(), { headers: basic ? { Authorization: basic } : {}, tls: this.tls }, this.timeoutMs, realm.host).catch((err) => {
      throw new CtrError(`registry "${this.registry}": cannot reach token service ${realm.host}: ${errorText(err)}`, { kind: "unavailable", cause: err });
    });
    if (!tokenRes.ok) {
      await tokenRes.body?.cancel();
      throw new CtrError(`registry "${this.registry}": token service ${realm.host} answered HTTP ${tokenRes.status}${basic ? " (credentials refused)" : ""}`, { kind: "invalid" });
    }
    const body = (await tokenRes.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new CtrError(`registry "${this.registry}": token service ${realm.host} returned no token`, { kind: "unavailable" });
    this.authorization = `Bearer ${token}`;
  }
}

/** An upload Location (absolute URL or absolute path) as `send` takes it, with `digest` added when given. */
function uploadTarget(location: string, digest?: string): string {
  const url = new URL(location, "http://placeholder");
  if (digest) url.searchParams.set("digest", digest);
  return /^https?:/.test(location) ? url.toString() : `${url.pathname}${url.search}`;
}

/**
 * fetch bounded in time: the response headers must arrive within
 * `timeoutMs`, and then the body may not stall for longer than that between
 * two chunks. Either way the connection is aborted and the error names `host`.
 */
async function fetchWithTimeout(url: string, init: RequestInit & { tls?: TlsInit }, timeoutMs: number, host: string): Promise<Response> {
  const ctl = new AbortController();
  const seconds = `${timeoutMs / 1000}s`;
  const timer = setTimeout(() => ctl.abort(new Error(`no answer in ${seconds}`)), timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: ctl.signal } as RequestInit);
  } finally {
    clearTimeout(timer);
  }
  // A null-body status cannot be rebuilt with a body; it has nothing to stall on anyway.
  if (!res.body || [101, 204, 205, 304].includes(res.status)) return res;
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(out) {
      let idle: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<never>((_, reject) => {
        idle = setTimeout(() => reject(new CtrError(`registry "${host}" sent no data for ${seconds}`, { kind: "unavailable" })), timeoutMs);
      });
      try {
        const chunk = await Promise.race([reader.read(), stalled]);
        if (chunk.done) out.close();
        else out.enqueue(chunk.value);
      } catch (err) {
        ctl.abort(err);
        reader.cancel(err).catch(() => undefined);
        throw err;
      } finally {
        clearTimeout(idle);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}
