/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

// `npm run dev` serves the console on :5173 and forwards every API path to the api
// (`make run`, or API_URL=http://127.0.0.1:8000 npm run dev). Console pages live under /console.
const api = process.env.API_URL ?? 'http://127.0.0.1:5000'
// Everything but the console's pages (/console/…) and Vite's own files goes to the api.
const apiPattern = '^/(?!console(/|$)|@|src/|node_modules/|$)'

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    proxy: { [apiPattern]: { target: api, changeOrigin: false } },
  },
  build: { chunkSizeWarningLimit: 3000 },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    // jsdom + antd render slowly on a loaded 2-core CI machine: one test took over the 5 s
    // default while other suites ran; a hung test still fails, after 30 s.
    testTimeout: 30000,
  },
})
