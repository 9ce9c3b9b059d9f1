#!/usr/bin/env bash
# Packs the npm package of tokenstore-check (harness/npm: `tokenStoreContract` for node:test,
# vitest and jest) with the release binary for this platform inside, as `npm pack` does for a
# release. Prints the tarball's path. Usage: tarball=$(ci/npm-pack.sh) (after cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."
platform=$(node -p 'process.platform + "-" + process.arch')
exe=target/release/tokenstore-check
[ -x "$exe" ] || { echo "no $exe: run cargo build --release --bin tokenstore-check first" >&2; exit 2; }
stage=target/npm/stage
rm -rf "$stage" && mkdir -p "$stage/native/$platform"
cp harness/npm/package.json harness/npm/index.mjs README.md "$stage/"
cp "$exe" "$stage/native/$platform/"
kit=$("$exe" --version | awk '{print $2}')
package=$(node -p 'require("./harness/npm/package.json").version')
[ "$kit" = "$package" ] || { echo "harness/npm/package.json says version $package, the kit is $kit: make them one" >&2; exit 1; }
(cd "$stage" && npm pack --silent --pack-destination ..) | tail -1 | sed "s|^|$PWD/target/npm/|"
