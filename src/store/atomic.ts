/** The store's atomic file primitives; they live in the bottom layer (src/fs.ts) so every layer can use them. */
export * from "../fs.ts";
