// Errors people can act on: focus moves to what went wrong, and htmx shows refusals.
(function () {
  "use strict";

  // The form-level message first (it names what was refused), else the first bad field.
  function focusError(root) {
    var target = root.querySelector(".form-error") || root.querySelector("[aria-invalid='true']");
    if (!target) { return; }
    if (!target.hasAttribute("tabindex") && !/^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
    if (target.scrollIntoView) { target.scrollIntoView({ block: "center" }); }
  }

  document.addEventListener("DOMContentLoaded", function () { focusError(document); });

  // htmx does not swap 4xx answers by default: a refusal's page (its message beside the
  // field) would never be seen. Swap them like any answer, then focus the error.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status >= 400 && status < 500) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) { focusError(event.detail.target); });
  // A server that cannot be reached: say so where the answer would have gone.
  document.addEventListener("htmx:sendError", function (event) {
    var box = document.createElement("div");
    box.className = "form-error";
    box.setAttribute("role", "alert");
    box.textContent = "The server could not be reached; nothing was saved. Try again.";
    event.detail.target.prepend(box);
    focusError(event.detail.target);
  });
})();
