// A few DOM helpers, so that views build elements without innerHTML (no markup injection).

const SVG_NS = "http://www.w3.org/2000/svg";

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
  return parent;
}

function assign(element, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") element.setAttribute("class", value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, String(value));
  }
  return element;
}

/** An HTML element: h("p", {class: "x"}, "text", child, [more]). */
export function h(tag, props, ...children) {
  return append(assign(document.createElement(tag), props), children);
}

/** An SVG element, same calling convention as h(). */
export function svg(tag, props, ...children) {
  return append(assign(document.createElementNS(SVG_NS, tag), props), children);
}

/** Replace everything inside element with children. */
export function replace(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}
