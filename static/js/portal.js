// The portal's small behaviours, kept out of the pages so a Content Security Policy can forbid
// inline scripts. Every page works without them; they make errors easier to find and hear.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });

  // Tie each field's error message to the field, so a screen reader reads it with the field.
  document.querySelectorAll("[id^='error_']").forEach((message) => {
    const fieldId = message.id.replace(/^error_\d+_/, "");
    const field = document.getElementById(fieldId);
    if (!field) return;
    const described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (!described.includes(message.id)) {
      field.setAttribute("aria-describedby", [message.id, ...described].join(" "));
    }
  });

  // After a failed submit, start at the summary of what to correct (it links to each field).
  const summary = document.getElementById("form-errors");
  if (summary) summary.focus();
});
