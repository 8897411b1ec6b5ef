/* Loaded before require.js and the widget manager on every page that embeds widgets (nb_ipywidgets_js in
   _config.yml). Two fixes that make @jupyter-widgets/html-manager 1.0.x work offline, from file://, next to
   MathJax 3:

   1. Font path. The manager resolves its lazily loaded Font Awesome files (the Play button's icons) against the
      URLs require.js gives its AMD module ids ("@jupyter-widgets/controls", ".../html-manager/dist/libembed-amd"),
      i.e. "<page folder>/@jupyter-widgets/...", which does not exist. A require.js configuration (a global
      `require` object read by require.js when it loads) maps those ids to _static/widgets/, next to
      embed-amd.js; window.__jupyter_widgets_assets_path__ is set too, for the bundles that read it.
   2. MathJax 2 API. Widget labels call MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]) whenever
      window.MathJax exists; MathJax 3 has no Hub, so every labelled widget threw. Provide a small Hub whose
      Queue typesets the element with MathJax 3 once it is ready. MathJax 3 replaces window.MathJax when it
      loads, so the Hub is (re)attached, non-enumerable, to whatever object window.MathJax becomes.
   3. Play button vs. the theme's Font Awesome. pydata-sphinx-theme's fontawesome.js replaces every
      <i class="fa ..."> with an <svg>, including the Play widget's play/pause icon; the widget's updatePlaying()
      then looks for its <i>, throws, and the exception also stops the jslink from slider to frames. The patched
      updatePlaying() puts a fresh <i> in the button each time (Font Awesome turns it into an svg again). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (script && script.src) {
    var widgetsFolder = new URL("widgets", script.src).href;  // .../_static/widgets (no trailing slash)
    window.__jupyter_widgets_assets_path__ = widgetsFolder + "/";
    if (typeof window.require === "undefined" && typeof window.requirejs === "undefined") {
      window.require = {
        paths: { "@jupyter-widgets/html-manager/dist": widgetsFolder, "@jupyter-widgets": widgetsFolder }
      };
    }
  }

  function typesetWhenReady(element, attemptsLeft) {
    var mathjax = window.MathJax;
    if (mathjax && mathjax.startup && mathjax.startup.promise && mathjax.typesetPromise) {
      mathjax.startup.promise
        .then(function () { return mathjax.typesetPromise(element ? [element] : undefined); })
        .catch(function (error) { console.warn("MathJax could not typeset a widget label:", error); });
    } else if (attemptsLeft > 0) {
      setTimeout(function () { typesetWhenReady(element, attemptsLeft - 1); }, 200);
    }
  }

  var hub = {
    Queue: function () {
      for (var i = 0; i < arguments.length; i++) {
        var job = arguments[i];
        if (Array.isArray(job) && job[0] === "Typeset") typesetWhenReady(job[2], 100);
      }
    }
  };

  function attachHub(target) {
    if (target && typeof target === "object" && !target.Hub) {
      Object.defineProperty(target, "Hub", { value: hub, enumerable: false, configurable: true });
    }
  }

  var current = window.MathJax;
  attachHub(current);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    enumerable: true,
    get: function () { return current; },
    set: function (value) { current = value; attachHub(current); }
  });

  function patchPlayView(controls) {
    var PlayView = controls && controls.PlayView;
    if (!PlayView || PlayView.prototype.__companionPatched) return;
    PlayView.prototype.updatePlaying = function () {
      var button = this.playPauseButton;
      if (!button) return;
      var icon = document.createElement("i");
      icon.className = this.model.get("playing") ? "fa fa-pause" : "fa fa-play";
      var old = button.firstElementChild;
      if (old) { button.replaceChild(icon, old); } else { button.appendChild(icon); }
    };
    PlayView.prototype.__companionPatched = true;
  }

  function patchWidgetViews() {
    if (typeof window.requirejs !== "function") return;
    ["@jupyter-widgets/controls", "@jupyter-widgets/controls7"].forEach(function (name) {
      window.requirejs([name], patchPlayView, function () { /* not bundled: nothing to patch */ });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", patchWidgetViews);
  } else {
    patchWidgetViews();
  }
})();
