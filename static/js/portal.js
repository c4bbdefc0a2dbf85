// The portal's small behaviours, kept out of the pages so a Content Security Policy can forbid
// inline scripts.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
});
