import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder (service entries, rendered configs and run folders are relative to it). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
