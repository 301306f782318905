// A small JSON Schema checker: the keywords pydantic writes for job payloads (type,
// properties, required, additionalProperties, string lengths and pattern, number bounds,
// enum/const, items, anyOf/oneOf/allOf, $ref into $defs). Unknown keywords are ignored:
// the API validates again, so this only has to catch mistakes before a request is sent.

function typeOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value; // string, boolean, object
}

function matchesType(value, type) {
  const actual = typeOf(value);
  return actual === type || (type === "number" && actual === "integer");
}

const A_TYPE = {
  string: "a string",
  integer: "a whole number",
  number: "a number",
  boolean: "true or false",
  object: "an object",
  array: "a list",
  null: "null",
};

function resolve(schema, root) {
  let current = schema;
  for (let depth = 0; current && current.$ref && depth < 20; depth += 1) {
    const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(current.$ref);
    current = match ? root[match[1]]?.[match[2]] : undefined;
  }
  return current || {};
}

const where = (path) => path || "payload";
const characters = (text) => [...text].length; // code points, as pydantic counts

function check(value, rawSchema, root, path, errors) {
  const schema = resolve(rawSchema, root);
  if (schema === true || !schema) return;

  if (schema.type !== undefined) {
    const types = [].concat(schema.type);
    if (!types.some((type) => matchesType(value, type))) {
      errors.push({ path, message: `${where(path)} must be ${types.map((t) => A_TYPE[t] || t).join(" or ")}` });
      return;
    }
  }
  if (schema.const !== undefined && JSON.stringify(value) !== JSON.stringify(schema.const)) {
    errors.push({ path, message: `${where(path)} must be ${JSON.stringify(schema.const)}` });
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((item) => JSON.stringify(item) === JSON.stringify(value))) {
    errors.push({ path, message: `${where(path)} must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}` });
  }
  for (const keyword of ["anyOf", "oneOf"]) {
    if (!Array.isArray(schema[keyword])) continue;
    const passing = schema[keyword].filter((option) => validate(option, value, root, path).length === 0).length;
    if (keyword === "anyOf" ? passing === 0 : passing !== 1) {
      errors.push({ path, message: `${where(path)} does not match any allowed form` });
    }
  }
  for (const part of schema.allOf || []) check(value, part, root, path, errors);

  if (typeof value === "string") {
    const length = characters(value);
    if (schema.minLength !== undefined && length < schema.minLength) {
      errors.push({
        path,
        message: schema.minLength === 1 ? `${where(path)} must not be empty` : `${where(path)} must have at least ${schema.minLength} characters`,
      });
    }
    if (schema.maxLength !== undefined && length > schema.maxLength) {
      errors.push({ path, message: `${where(path)} must have at most ${schema.maxLength} characters (it has ${length})` });
    }
    if (schema.pattern !== undefined) {
      try {
        if (!new RegExp(schema.pattern, "u").test(value)) {
          errors.push({ path, message: `${where(path)} must match the pattern ${schema.pattern}` });
        }
      } catch {
        // A pattern JavaScript cannot read: leave it to the API.
      }
    }
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) {
      errors.push({ path, message: `${where(path)} must be at least ${schema.minimum}` });
    }
    if (schema.maximum !== undefined && value > schema.maximum) {
      errors.push({ path, message: `${where(path)} must be at most ${schema.maximum}` });
    }
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) {
      errors.push({ path, message: `${where(path)} must be greater than ${schema.exclusiveMinimum}` });
    }
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) {
      errors.push({ path, message: `${where(path)} must be less than ${schema.exclusiveMaximum}` });
    }
    if (schema.multipleOf !== undefined && Math.abs(value / schema.multipleOf - Math.round(value / schema.multipleOf)) > 1e-9) {
      errors.push({ path, message: `${where(path)} must be a multiple of ${schema.multipleOf}` });
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      errors.push({ path, message: `${where(path)} must have at least ${schema.minItems} items` });
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      errors.push({ path, message: `${where(path)} must have at most ${schema.maxItems} items` });
    }
    if (schema.items && typeof schema.items === "object") {
      value.forEach((item, index) => check(item, schema.items, root, `${where(path)}[${index}]`, errors));
    }
  }
  if (typeOf(value) === "object") {
    const properties = schema.properties || {};
    for (const name of schema.required || []) {
      if (!(name in value)) errors.push({ path: join(path, name), message: `${join(path, name)} is required` });
    }
    for (const [name, item] of Object.entries(value)) {
      if (name in properties) check(item, properties[name], root, join(path, name), errors);
      else if (schema.additionalProperties === false) {
        const known = Object.keys(properties);
        const hint = known.length ? ` (allowed: ${known.join(", ")})` : "";
        errors.push({ path: join(path, name), message: `${join(path, name)} is not an allowed field${hint}` });
      } else if (schema.additionalProperties && typeof schema.additionalProperties === "object") {
        check(item, schema.additionalProperties, root, join(path, name), errors);
      }
    }
  }
}

const join = (path, name) => (path ? `${path}.${name}` : name);

/** The problems of value against schema, each {path, message}; [] when it conforms. */
export function validate(schema, value, root = schema, path = "") {
  const errors = [];
  check(value, schema, root, path, errors);
  return errors;
}

/** One line per top-level field, for the help text under the editor: "text — string, 1–10000 characters, required". */
export function describeFields(schema) {
  const root = schema;
  const resolved = resolve(schema, root);
  const required = new Set(resolved.required || []);
  return Object.entries(resolved.properties || {}).map(([name, raw]) => {
    const field = resolve(raw, root);
    const facts = [];
    if (field.type) facts.push([].concat(field.type).join(" or "));
    const min = field.minLength ?? field.minimum ?? field.exclusiveMinimum;
    const max = field.maxLength ?? field.maximum ?? field.exclusiveMaximum;
    const unit = field.minLength !== undefined || field.maxLength !== undefined ? " characters" : "";
    if (field.exclusiveMinimum !== undefined && max !== undefined) facts.push(`> ${min} and ≤ ${max}`);
    else if (min !== undefined && max !== undefined) facts.push(`${min}–${max}${unit}`);
    else if (min !== undefined) facts.push(`at least ${min}${unit}`);
    else if (max !== undefined) facts.push(`at most ${max}${unit}`);
    if (Array.isArray(field.enum)) facts.push(`one of ${field.enum.map((v) => JSON.stringify(v)).join(", ")}`);
    facts.push(required.has(name) ? "required" : field.default !== undefined ? `default ${JSON.stringify(field.default)}` : "optional");
    return { name, facts: facts.join(", "), description: field.description || "" };
  });
}
