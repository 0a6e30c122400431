// Vite builds the cabinet into dist/, which the API serves at `/`. In development
// (`npm run dev`) /api is proxied to a local API on port 8000.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [react()],
  server: { proxy: { "/api": "http://127.0.0.1:8000" } },
  build: {
    outDir: "dist",
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        // Libraries change less often than the cabinet: separate, long-cached chunks.
        manualChunks: {
          react: ["react", "react-dom", "react-router", "react-router-dom"],
          mui: ["@mui/material", "@emotion/react", "@emotion/styled"],
          "react-admin": ["react-admin"],
        },
      },
    },
  },
});
