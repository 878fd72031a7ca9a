// Content-Type by file name extension (RFC 6968 §3.3 Content-Type item). A short table of the
// types an update or image carousel meets; anything else is application/octet-stream, which
// receivers treat as opaque bytes. Pure lookup, no file inspection.

const TYPES: Readonly<Record<string, string>> = {
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  json: 'application/json',
  xml: 'application/xml',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  toml: 'application/toml',
  sdp: 'application/sdp',
  conf: 'text/plain; charset=utf-8',
  service: 'text/plain; charset=utf-8',
  timer: 'text/plain; charset=utf-8',
  sh: 'application/x-sh',
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  webp: 'image/webp',
  gz: 'application/gzip',
  tgz: 'application/gzip',
  zst: 'application/zstd',
  xz: 'application/x-xz',
  bz2: 'application/x-bzip2',
  zip: 'application/zip',
  tar: 'application/x-tar',
  deb: 'application/vnd.debian.binary-package',
  rpm: 'application/x-rpm',
  iso: 'application/x-iso9660-image',
  img: 'application/octet-stream',
  qcow2: 'application/x-qemu-disk',
  wasm: 'application/wasm',
};

/** MIME type for a file name (case-insensitive extension). */
export function contentTypeFor(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return 'application/octet-stream';
  return TYPES[base.slice(dot + 1).toLowerCase()] ?? 'application/octet-stream';
}
