// Files embedded into dist/ctr with `import … with { type: "file" }` resolve to a path.
declare module "*/ctr-shim" {
  const path: string;
  export default path;
}
