/**
 * Container ids and names as docker makes them: 64 hex characters, and an
 * `adjective_surname` name when the user gives none.
 */
const ADJECTIVES = [
  "admiring", "agitated", "amazing", "brave", "busy", "clever", "cool", "dazzling", "eager", "ecstatic",
  "elegant", "epic", "festive", "focused", "friendly", "gallant", "gifted", "happy", "hopeful", "jolly",
  "keen", "kind", "laughing", "loving", "lucid", "modest", "nice", "nifty", "optimistic", "peaceful",
  "quirky", "relaxed", "serene", "sharp", "silly", "stoic", "sweet", "tender", "trusting", "vibrant",
  "vigilant", "wizardly", "youthful", "zealous", "zen",
];
const SURNAMES = [
  "albattani", "allen", "archimedes", "babbage", "bell", "bhabha", "bohr", "curie", "darwin", "dijkstra",
  "einstein", "euclid", "fermat", "feynman", "franklin", "galileo", "gauss", "goldberg", "hopper", "hypatia",
  "johnson", "kepler", "knuth", "lamarr", "lovelace", "mayer", "mcclintock", "meitner", "morse", "newton",
  "noether", "pascal", "pasteur", "ritchie", "shannon", "sinoussi", "thompson", "torvalds", "turing", "wozniak",
];

export function newContainerId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Buffer.from(bytes).toString("hex");
}

export function randomName(): string {
  const pick = (a: string[]) => a[Math.floor(Math.random() * a.length)]!;
  return `${pick(ADJECTIVES)}_${pick(SURNAMES)}`;
}

/** docker's rule for `--name`: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`. */
export const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
