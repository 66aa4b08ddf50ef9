// Vite builds the console into dist/ under fixed names (index.html, assets/app.js,
// assets/app.css): the engine embeds exactly these three files and serves them at `/`,
// `/assets/app.js` and `/assets/app.css`, so the names carry no content hash and the output is
// one JS bundle (dynamic imports inlined) and one stylesheet. `npm run dev` proxies the API to
// the engine named by REELTIME_URL (default http://127.0.0.1:8080).
import { defineConfig } from 'vite';

const engine = process.env.REELTIME_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    cssCodeSplit: false,
    modulePreload: false,
    sourcemap: false,
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1024,
    target: 'es2020',
    rollupOptions: {
      output: {
        entryFileNames: 'assets/app.js',
        chunkFileNames: 'assets/app.js',
        inlineDynamicImports: true,
        assetFileNames: (asset) =>
          asset.names.some((name) => name.endsWith('.css')) ? 'assets/app.css' : 'assets/[name][extname]',
      },
    },
  },
  server: {
    proxy: {
      '/api': { target: engine, changeOrigin: true },
      '/health': { target: engine, changeOrigin: true },
      '/metrics': { target: engine, changeOrigin: true },
    },
  },
});
