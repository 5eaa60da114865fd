// Written for this book (not fetched by scripts/fetch_site_js.sh). _config.yml loads it after
// require.js and before embed-amd.js. embed-amd.js loads its Font Awesome fonts from the folder
// that requirejs assigns to "@jupyter-widgets/html-manager/dist" (by default a path relative to
// the page, where nothing is). Point that name at this folder, found from this script's own
// address, so the fonts shipped here load at any page depth, offline.
(function () {
  var script = document.currentScript;
  if (!script || !script.src || typeof window.requirejs === "undefined") return;
  var here = script.src.split(/[?#]/)[0].replace(/\/[^\/]*$/, "");
  window.requirejs.config({ paths: { "@jupyter-widgets/html-manager/dist": here } });
})();
