// Form fields generated from a job type's JSON Schema: a text box for a string (a larger one
// for long text), a number input with the schema's bounds for a number or an integer, a
// checkbox for a boolean, a list for an enum. A payload with any other kind of field (an
// object, a list, a union) has no generated form: the JSON editor is the way to write it.

import { h, replace } from "./dom.js";
import { describeFields } from "./schema.js";

const LONG_TEXT = 200; // characters: above this maxLength a string gets a multi-line box

function resolve(schema, root) {
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(schema?.$ref || "");
  return match ? root[match[1]]?.[match[2]] || {} : schema || {};
}

function kindOf(field) {
  if (Array.isArray(field.enum) && field.enum.every((value) => typeof value === "string")) return "enum";
  const type = field.type;
  if (type === "string" || type === "integer" || type === "number" || type === "boolean") return type;
  return null;
}

/** The generated fields of a payload schema, or null when some field needs the JSON editor. */
export function fieldsOf(schema) {
  const root = resolve(schema, schema);
  if (root.type !== "object") return null;
  const facts = new Map(describeFields(schema).map((fact) => [fact.name, fact]));
  const required = new Set(root.required || []);
  const fields = [];
  for (const [name, raw] of Object.entries(root.properties || {})) {
    const field = resolve(raw, schema);
    const kind = kindOf(field);
    if (!kind) return null;
    fields.push({ name, kind, field, required: required.has(name), help: facts.get(name) });
  }
  return fields;
}

function inputFor({ name, kind, field, required }, id, describedBy) {
  const common = { id, name, "aria-describedby": describedBy, "data-field": name, required };
  if (kind === "boolean") return h("input", { ...common, type: "checkbox" });
  if (kind === "enum") {
    return h("select", common, required ? null : h("option", { value: "" }, "—"),
      field.enum.map((value) => h("option", { value }, value)));
  }
  if (kind === "integer" || kind === "number") {
    const min = field.minimum ?? field.exclusiveMinimum;
    const max = field.maximum ?? field.exclusiveMaximum;
    return h("input", { ...common, type: "number", inputmode: kind === "integer" ? "numeric" : "decimal",
      min, max, step: kind === "integer" ? 1 : "any" });
  }
  const long = (field.maxLength ?? Infinity) > LONG_TEXT;
  const props = { ...common, maxlength: field.maxLength, spellcheck: "false", autocomplete: "off" };
  return long ? h("textarea", { ...props, rows: 2, class: "text-field" }) : h("input", { ...props, type: "text" });
}

/** The generated form in container; onInput() is called after every change the reader makes. */
export function createPayloadFields(container, { onInput }) {
  let fields = [];
  const inputs = new Map();

  function show(schema, payload) {
    fields = fieldsOf(schema) || [];
    inputs.clear();
    replace(container, fields.length ? null : h("p", { class: "help" }, "This type takes no fields."),
      fields.map((spec) => {
        const id = `field-${spec.name}`;
        const helpId = `${id}-help`;
        const input = inputFor(spec, id, `${helpId} payload-error`);
        inputs.set(spec.name, input);
        input.addEventListener("input", onInput);
        input.addEventListener("change", onInput);
        const label = h("label", { for: id }, spec.name, spec.required ? "" : h("span", { class: "muted" }, " (optional)"));
        const help = h("p", { id: helpId, class: "help" }, [spec.help?.description, spec.help?.facts].filter(Boolean).join(". "));
        return spec.kind === "boolean"
          ? h("div", { class: "field field-check" }, input, label, help)
          : h("div", { class: "field" }, label, input, help);
      }));
    write(payload);
  }

  /** Put payload's values in the fields (values of the wrong kind leave a field empty). */
  function write(payload) {
    const values = payload && typeof payload === "object" && !Array.isArray(payload) ? payload : {};
    for (const { name, kind } of fields) {
      const input = inputs.get(name);
      const value = values[name];
      if (kind === "boolean") input.checked = value === true;
      else if (kind === "integer" || kind === "number") input.value = typeof value === "number" ? String(value) : "";
      else input.value = typeof value === "string" ? value : "";
    }
  }

  /** base (the payload as last written in JSON, so that fields the form lacks are kept) with the fields' values. */
  function read(base) {
    const payload = base && typeof base === "object" && !Array.isArray(base) ? { ...base } : {};
    for (const { name, kind, required } of fields) {
      const input = inputs.get(name);
      delete payload[name];
      if (kind === "boolean") payload[name] = input.checked;
      else if (kind === "integer" || kind === "number") {
        // A number input's value is "" while what it holds is not a number ("1e", "-").
        if (input.value !== "") payload[name] = Number(input.value);
        else if (input.validity.badInput) payload[name] = "not a number";
      } else if (input.value !== "" || required) payload[name] = input.value;
    }
    return payload;
  }

  /** Mark the fields named in problems' paths invalid; returns the first such input, if any. */
  function markProblems(problems) {
    const bad = new Set(problems.map((problem) => String(problem.path || "").split(/[.[]/)[0]));
    let first = null;
    for (const [name, input] of inputs) {
      input.setAttribute("aria-invalid", String(bad.has(name)));
      if (bad.has(name) && !first) first = input;
    }
    return first;
  }

  return { show, write, read, markProblems, available: (schema) => fieldsOf(schema) !== null };
}
