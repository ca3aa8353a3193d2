// Types of scripts/node-lts.mjs (plain JavaScript, so that images-build.sh runs it without a build).
export declare const NODE_LTS: { version: string; integrity: Record<string, string> };
export declare const NPM: { version: string; integrity: string };
export declare const CACHE: string;
export declare function major(): number;
export declare function fetchNode(): Promise<{ dir: string; node: string; version: string }>;
export declare function fetchNpm(): Promise<string>;
