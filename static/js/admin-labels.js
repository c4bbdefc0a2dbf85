// Gives the admin's autocomplete boxes (select2 comboboxes) the name of the field they stand for.
// Select2 names its combobox after the choice shown, so an empty one has no name at all (WCAG
// 4.1.2): the name becomes the field's label, followed by the choice. Boxes added later (a new
// inline row) are named as they appear. Also names a changelist's editable cells after their
// column and row, and gives the filter boxes' icons the role their name needs.
"use strict";
{
  let labelCount = 0;

  function labelOf(select) {
    if (!select.id) return null;
    return document.querySelector(`label[for="${CSS.escape(select.id)}"]`);
  }

  function name(combobox) {
    if (combobox.dataset.named) return;
    const container = combobox.closest(".select2-container");
    const select = container && container.previousElementSibling;
    if (!select || select.tagName !== "SELECT") return;
    const rendered = combobox.querySelector(".select2-selection__rendered");
    if (rendered) {
      // Select2 calls the choice shown a read-only textbox, a field of its own with no name;
      // it is the combobox's value, which the combobox's name below includes.
      rendered.removeAttribute("role");
      rendered.removeAttribute("aria-readonly");
    }
    const label = labelOf(select);
    if (label && rendered && rendered.id) {
      if (!label.id) label.id = `autocomplete-label-${++labelCount}`;
      combobox.setAttribute("aria-labelledby", `${label.id} ${rendered.id}`);
    } else if (select.getAttribute("aria-label")) {
      // A table's cell (an inline row) has no <label>; the field carries its name itself.
      combobox.removeAttribute("aria-labelledby");
      combobox.setAttribute("aria-label", select.getAttribute("aria-label"));
      if (rendered && rendered.id) combobox.setAttribute("aria-describedby", rendered.id);
    } else {
      return;
    }
    combobox.dataset.named = "yes";
  }

  // A changelist's editable cells (list_editable) are inputs under a column heading with no
  // <label>: each is named after its column and its row ("Position: Any allergies?").
  function nameEditableCells(root) {
    root.querySelectorAll("#result_list tbody td").forEach((cell) => {
      const heading = cell.closest("table").querySelectorAll("thead th")[cell.cellIndex];
      const rowHeading = cell.parentElement.querySelector("th");
      if (!heading) return;
      const column = heading.textContent.trim();
      const row = rowHeading ? rowHeading.textContent.trim() : "";
      cell.querySelectorAll("input:not([type='hidden']), select, textarea").forEach((field) => {
        if (field.labels.length || field.hasAttribute("aria-label")) return;
        field.setAttribute("aria-label", row ? `${column}: ${row}` : column);
      });
    });
  }

  function nameAll(root) {
    nameEditableCells(root);
    root.querySelectorAll(".select2-selection[role='combobox']").forEach(name);
    // The filter boxes' magnifier icons (the user form's group picker) carry a name, which only
    // an element with a role may have: they are images.
    root.querySelectorAll(".help-tooltip[aria-label]:not([role])").forEach((icon) => {
      icon.setAttribute("role", "img");
    });
  }

  function start() {
    nameAll(document);
    new MutationObserver(() => nameAll(document)).observe(document.body, {
      childList: true,
      subtree: true,
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}
