// Builds the npm package's JavaScript: cli/dist/, one esbuild bundle of the CLI with the workspace
// libs and third-party packages inside (the libs are not published, and Node does not strip types
// under node_modules, where `npm install -g` puts the package). Each command area is its own chunk,
// loaded when its command runs. Run by `npm pack` (prepack); `node cli/scripts/build.ts` by hand.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const cli = fileURLToPath(new URL('..', import.meta.url));
const root = path.resolve(cli, '..');
const dist = path.join(cli, 'dist');

/**
 * Files the code reads beside itself (`new URL('../migrations/', import.meta.url)`): the bundle
 * lives elsewhere, so each such file or folder is copied to dist/assets/ and the URL pointed there.
 * Template URLs are not rewritten: the Avro schemas (`./${folder}/schema.avsc` of the events lib)
 * are copied where the bundle resolves them, next to it.
 */
const assetUrls: Plugin = {
  name: 'asset-urls',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const contents = source.replace(
        /new URL\((['"])([^'"$]+)\1,\s*import\.meta\.url\)/g,
        (_match, _quote: string, rel: string) => {
          const target = path.resolve(path.dirname(args.path), rel);
          if (!existsSync(target)) throw new Error(`${args.path}: ${rel} does not exist`);
          const name = path.relative(root, target).replaceAll(path.sep, '__') || 'root';
          const dest = path.join(dist, 'assets', name);
          cpSync(target, dest, { recursive: true });
          const url = `./assets/${name}${statSync(target).isDirectory() ? '/' : ''}`;
          return `new URL(${JSON.stringify(url)}, import.meta.url)`;
        },
      );
      return { contents, loader: 'ts' };
    });
  },
};

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const pkg = JSON.parse(readFileSync(path.join(cli, 'package.json'), 'utf8')) as {
  engines?: { node?: string };
};
await build({
  entryPoints: { tributary: path.join(cli, 'src/main.ts') },
  outdir: dist,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: `node${(pkg.engines?.node ?? '>=22').replace(/[^\d.]/g, '').split('.')[0]}`,
  minify: true,
  legalComments: 'linked',
  // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __tributaryRequire } from 'node:module'; const require = __tributaryRequire(import.meta.url);",
  },
  // The version is read from the package.json beside dist/ at run time.
  plugins: [assetUrls],
  logLevel: 'warning',
});
const events = path.join(root, 'libs/events/src');
for (const folder of readdirSync(events)) {
  const schema = path.join(events, folder, 'schema.avsc');
  if (existsSync(schema)) cpSync(schema, path.join(dist, folder, 'schema.avsc'));
}
process.stdout.write(`built ${path.relative(root, dist)}/\n`);
