// Hamkor's small script: keyboard shortcut for the search box. Pages work without it.
document.addEventListener("keydown", function (e) {
  if (e.key === "/" && !/INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) {
    var box = document.getElementById("global-search");
    if (box) { e.preventDefault(); box.focus(); }
  }
});
