import { defineConfig } from "vite";

// Assets are shipped with the app: no fonts or scripts from the network.
export default defineConfig({
  clearScreen: false,
  build: { outDir: "dist", target: "es2022", emptyOutDir: true },
  test: { environment: "node" },
} as any);
