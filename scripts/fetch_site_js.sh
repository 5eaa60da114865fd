#!/usr/bin/env bash
# Re-fetch the JavaScript the built book serves itself, so that widgets render offline
# (by default myst-nb loads require.js and the ipywidgets HTML manager from CDNs).
#
# Pinned versions, from the npm registry (`npm pack`, no install scripts run):
#   requirejs                     2.3.8   MIT           -> require.js
#   @jupyter-widgets/html-manager 1.0.15  BSD-3-Clause  -> embed-amd.js (+ the Font Awesome
#                                                          woff2 fonts its CSS refers to)
# ipywidgets 8.1.x asks for html-manager ^1.0.1; keep the two in step when ipywidgets moves.
#
# The files land in site_static/widgets/, which _config.yml lists in html_static_path (it is
# copied to _build/html/_static/widgets/) and maps in nb_ipywidgets_js. It is deliberately not
# a root `_static/` folder: Jupyter Book would add every .js there to every page and the
# widgets would render several times.
#
# Usage: bash scripts/fetch_site_js.sh   (needs npm; rewrites the fetched files in site_static/widgets/)
set -euo pipefail

REQUIREJS_VERSION=2.3.8
HTML_MANAGER_VERSION=1.0.15

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/site_static/widgets"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
npm pack --silent "requirejs@$REQUIREJS_VERSION" "@jupyter-widgets/html-manager@$HTML_MANAGER_VERSION" >/dev/null
mkdir rq hm
tar xzf "requirejs-$REQUIREJS_VERSION.tgz" -C rq
tar xzf "jupyter-widgets-html-manager-$HTML_MANAGER_VERSION.tgz" -C hm

# Replace only the fetched files: require-config.js in the same folder is the book's own.
mkdir -p "$dest"
rm -f "$dest"/require.js "$dest"/embed-amd.js "$dest"/*.woff2 "$dest"/SOURCES.txt "$dest"/LICENSE-ipywidgets.txt
cp rq/package/require.js "$dest/require.js"
cp hm/package/dist/embed-amd.js "$dest/embed-amd.js"
# embed-amd.js loads its fonts from its own folder; every current browser takes woff2 first.
cp hm/package/dist/*.woff2 "$dest/"

cat > "$dest/SOURCES.txt" <<EOF
Fetched by scripts/fetch_site_js.sh from the npm registry; do not edit by hand.

require.js     requirejs@$REQUIREJS_VERSION (package/require.js)
               MIT licence, https://github.com/requirejs/requirejs/blob/master/LICENSE
embed-amd.js   @jupyter-widgets/html-manager@$HTML_MANAGER_VERSION (package/dist/embed-amd.js)
               BSD-3-Clause licence (Jupyter Development Team), https://github.com/jupyter-widgets/ipywidgets
               (text in LICENSE-ipywidgets.txt); it bundles third-party code under its own
               permissive licences, e.g. jQuery and jQuery UI (MIT), Font Awesome CSS (MIT)
*.woff2        Font Awesome Free fonts from the same package (package/dist/*.woff2)
               SIL OFL 1.1, https://fontawesome.com/license/free

sha256:
$(cd "$dest" && sha256sum require.js embed-amd.js *.woff2)
EOF
# The ipywidgets licence (the html-manager package ships no LICENSE file of its own).
cat > "$dest/LICENSE-ipywidgets.txt" <<'EOF'
Copyright (c) 2015 Project Jupyter Contributors
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.

3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from
   this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
EOF
ls -l "$dest"
