// Import one of the app's ES modules (fieldvisit/static/fieldvisit/app/*.js) into node.
// They are plain ES modules with a .js name and no package.json beside them; node before
// 20.19 would read them as CommonJS, so each is copied to a .mjs file first.
import {copyFileSync, mkdtempSync} from "node:fs";
import {tmpdir} from "node:os";
import {dirname, join} from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";

const APP = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "fieldvisit", "static", "fieldvisit", "app");
const TMP = mkdtempSync(join(tmpdir(), "fieldapp-js-"));

export async function load(name) {
  const target = join(TMP, name.replace(/\.js$/, ".mjs"));
  copyFileSync(join(APP, name), target);
  return import(pathToFileURL(target).href);
}
