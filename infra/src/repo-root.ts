import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder: the Docker build context, and what service entries, rendered configs and run folders are relative to. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
