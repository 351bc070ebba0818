// Progressive enhancement only: every page works without this file.
// 1. Suggestions (titles, themes, projects) under the search box, from /api/suggest, as an
//    ARIA combobox: arrow keys move, Enter opens, Escape closes.
// 2. Filters apply as soon as a box is ticked, without a full reload; the result count is
//    announced through a live region, and the URL (so Back and sharing) keeps the filters; on a
//    phone, filters opened from "Filter results" stay open until "Back to the results".
// 3. A long filter's "Find a ..." box narrows its list as you type (without this file, its button
//    asks the server for the narrowed list).
// 4. A "Copy reference" button beside each reference copies its plain text and says so through the
//    live region (without this file there is no button, and the reference is plain text to select).
import { initAll } from "./build/govuk-frontend.min.js";

initAll();

const live = document.getElementById("app-live");
const announce = (text) => {
  if (!live) return;
  live.textContent = "";
  window.setTimeout(() => { live.textContent = text; }, 50);
};

function suggestions(input) {
  const url = input.dataset.suggestUrl;
  if (!url) return;
  const list = document.createElement("ul");
  list.id = "q-suggestions";
  list.className = "app-suggestions";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Suggestions");
  list.hidden = true;
  input.insertAdjacentElement("afterend", list);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("aria-expanded", "false");
  let active = -1;
  let timer = null;
  let controller = null;

  const close = () => {
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (index) => {
    const options = [...list.children];
    options.forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    active = index;
    if (index >= 0) input.setAttribute("aria-activedescendant", options[index].id);
    else input.removeAttribute("aria-activedescendant");
  };
  const show = (items) => {
    list.replaceChildren();
    items.forEach((item, i) => {
      const li = document.createElement("li");
      li.id = `q-suggestion-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      const link = document.createElement("a");
      link.href = item.page_url;
      link.className = "govuk-link";
      link.tabIndex = -1;
      link.textContent = `${item.text} (${item.kind})`;
      li.append(link);
      list.append(li);
    });
    list.hidden = items.length === 0;
    input.setAttribute("aria-expanded", String(items.length > 0));
    if (items.length) announce(`${items.length} suggestion${items.length === 1 ? "" : "s"}; use the arrow keys to choose.`);
  };

  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    const text = input.value.trim();
    // Suggestions are for a few words typed, not for a pasted text (which /api/suggest refuses anyway):
    // a case note pasted into the box is never sent until the form is.
    if (text.length < 2 || text.length > 100) { close(); return; }
    timer = window.setTimeout(async () => {
      controller?.abort();
      controller = new AbortController();
      try {
        const response = await fetch(`${url}?q=${encodeURIComponent(text)}`, { signal: controller.signal });
        if (!response.ok) { close(); return; }
        show((await response.json()).suggestions);
      } catch (error) {
        if (error.name !== "AbortError") close();
      }
    }, 200);
  });
  input.addEventListener("keydown", (event) => {
    const count = list.children.length;
    if (list.hidden || !count) return;
    if (event.key === "ArrowDown") { event.preventDefault(); highlight((active + 1) % count); }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight((active - 1 + count) % count); }
    else if (event.key === "Escape") { close(); }
    else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      window.location.assign(list.children[active].querySelector("a").href);
    }
  });
  input.addEventListener("blur", () => window.setTimeout(close, 200));
}

function facetFinders(root) {
  root.querySelectorAll("[data-facet-find]").forEach((input) => {
    const group = document.getElementById(input.dataset.facetFind);
    if (!group) return;
    const items = [...group.querySelectorAll(".govuk-checkboxes__item")];
    let timer = null;
    input.addEventListener("input", () => {
      const needle = input.value.trim().toLowerCase();
      let shown = 0;
      items.forEach((item) => {
        const match = item.querySelector("input").checked || item.textContent.toLowerCase().includes(needle);
        item.style.display = match ? "" : "none";
        if (match) shown += 1;
      });
      window.clearTimeout(timer);
      timer = window.setTimeout(() => announce(`${shown} of ${items.length} shown.`), 400);
    });
  });
}

function liveFilters(form) {
  form.addEventListener("change", async (event) => {
    if (!event.target.matches("input[type=checkbox]")) return;
    const url = `${form.action}?${new URLSearchParams(new FormData(form))}`;
    const focusedId = event.target.id;
    try {
      const response = await fetch(url, { headers: { Accept: "text/html" } });
      if (!response.ok) { window.location.assign(url); return; }
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const area = page.getElementById("app-results-area");
      if (!area) { window.location.assign(url); return; }
      // On a phone the filters are open while they are the #target; the new ones are not that element.
      const open = document.getElementById("app-filters")?.matches(":target, .app-filters--open");
      document.getElementById("app-results-area").replaceWith(area);
      if (open) document.getElementById("app-filters")?.classList.add("app-filters--open");
      document.title = page.title;
      const heading = page.querySelector("h1");
      if (heading) document.querySelector("h1").textContent = heading.textContent;
      window.history.pushState({}, "", url);
      shown = window.location.pathname + window.location.search;
      const status = document.getElementById("results-status");
      announce(status ? status.textContent : "Results updated.");
      const newForm = document.querySelector("[data-app-filters]");
      if (newForm) liveFilters(newForm);
      facetFinders(document);
      copyButtons(document);
      document.getElementById(focusedId)?.focus();
    } catch {
      window.location.assign(url);
    }
  });
}

function copyButtons(root) {
  for (const box of root.querySelectorAll(".app-copy[data-copy-target]")) {
    if (box.querySelector(".app-copy__button")) continue;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "govuk-button govuk-button--secondary govuk-!-margin-bottom-1 app-copy__button";
    button.dataset.copyTarget = box.dataset.copyTarget;
    const hidden = document.createElement("span");
    hidden.className = "govuk-visually-hidden";
    hidden.textContent = `: ${box.dataset.copyTitle || ""}`;
    button.append("Copy reference", hidden);
    box.append(button);
  }
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (an insecure origin, an old browser): copy a selection the old way.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "govuk-visually-hidden";
    document.body.append(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}

document.addEventListener("click", async (event) => {
  const copy = event.target.closest(".app-copy__button");
  if (copy) {
    const target = document.getElementById(copy.dataset.copyTarget);
    if (!target) return;
    const text = target.textContent.replace(/\s+/g, " ").trim();
    announce(await copyText(text) ? "Reference copied." : "Could not copy: select the reference and copy it.");
    return;
  }
  if (event.target.closest(".app-filters-hide a")) {
    document.getElementById("app-filters")?.classList.remove("app-filters--open");
  }
});

const query = document.getElementById("q");
if (query) suggestions(query);
const filters = document.querySelector("[data-app-filters]");
if (filters) liveFilters(filters);
facetFinders(document);
copyButtons(document);
// Back and Forward between filtered result lists reload the list the URL names; a change of
// #fragment only (the skip link, "Go to the matching passage") does not.
let shown = window.location.pathname + window.location.search;
window.addEventListener("popstate", () => {
  const now = window.location.pathname + window.location.search;
  if (now !== shown) window.location.reload();
});
