// The workflow as an SVG graph, derived from the state machine's ASL definition (States,
// StartAt, Next, Default, Choices[].Next, Catch[].Next; End/Succeed/Fail end a path).
// layoutWorkflow() is pure geometry; renderGraph() colours each state by its outcome.

import { svg } from "./dom.js";

const NODE_W = 176;
const NODE_H = 60;
const GAP_X = 30;
const GAP_Y = 52;
const MARGIN = 16;
const SLOT = NODE_W + GAP_X;

function shortErrors(errors = []) {
  if (errors.length === 1) return errors[0];
  const prefixes = new Set(errors.map((name) => name.split(".")[0]));
  if (prefixes.size === 1) return `${[...prefixes][0]}.* (${errors.length})`;
  return `${errors[0]} +${errors.length - 1}`;
}

const COMPARISONS = [
  ["Equals", "="], ["GreaterThanEquals", "≥"], ["LessThanEquals", "≤"], ["GreaterThan", ">"],
  ["LessThan", "<"], ["Matches", "~"],
];

function choiceLabel(rule, index) {
  if (typeof rule.Condition === "string") return truncate(rule.Condition.replace(/^\{%\s*|\s*%\}$/g, ""), 26);
  const variable = typeof rule.Variable === "string" ? rule.Variable.split(".").pop() : null;
  const key = Object.keys(rule).find((name) => !["Variable", "Next", "Comment", "Assign", "Output"].includes(name));
  if (!variable || !key) return `rule ${index + 1}`;
  if (key === "IsPresent" || key.startsWith("Is")) return `${variable} ${key.replace(/^Is/, "is ").toLowerCase()}`;
  const op = COMPARISONS.find(([suffix]) => key.replace(/Path$/, "").endsWith(suffix));
  return truncate(`${variable} ${op ? op[1] : key} ${rule[key]}`, 26);
}

function truncate(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

/** Every transition of the definition: {from, to, kind: next|choice|default|catch, label}. */
export function workflowEdges(definition) {
  const edges = [];
  for (const [name, state] of Object.entries(definition.States || {})) {
    if (state.Type === "Choice") {
      (state.Choices || []).forEach((rule, index) => {
        if (rule.Next) edges.push({ from: name, to: rule.Next, kind: "choice", label: choiceLabel(rule, index) });
      });
      if (state.Default) edges.push({ from: name, to: state.Default, kind: "default", label: "otherwise" });
    } else if (state.Next && !state.End) {
      edges.push({ from: name, to: state.Next, kind: "next", label: "" });
    }
    for (const catcher of state.Catch || []) {
      if (catcher.Next) edges.push({ from: name, to: catcher.Next, kind: "catch", label: `catch ${shortErrors(catcher.ErrorEquals)}` });
    }
  }
  return edges.filter((edge) => edge.to in (definition.States || {}));
}

/**
 * Lay the states out top to bottom: each state one layer below its deepest parent
 * (back edges of loops ignored for layering), siblings ordered under their parents,
 * states that end the workflow pushed to the side of their layer.
 */
export function layoutWorkflow(definition) {
  const states = definition.States || {};
  const names = Object.keys(states);
  const edges = workflowEdges(definition);
  const outgoing = new Map(names.map((name) => [name, edges.filter((edge) => edge.from === name)]));

  // Depth-first from StartAt (then any unreachable state): discovery order, post-order, back edges.
  const discovered = new Map();
  const postOrder = [];
  const onStack = new Set();
  function visit(name) {
    discovered.set(name, discovered.size);
    onStack.add(name);
    for (const edge of outgoing.get(name)) {
      if (onStack.has(edge.to)) edge.back = true;
      else if (!discovered.has(edge.to)) visit(edge.to);
    }
    onStack.delete(name);
    postOrder.push(name);
  }
  for (const root of [definition.StartAt, ...names]) {
    if (root in states && !discovered.has(root)) visit(root);
  }

  const layer = new Map(names.map((name) => [name, 0]));
  for (const name of [...postOrder].reverse()) {
    for (const edge of outgoing.get(name)) {
      if (!edge.back) layer.set(edge.to, Math.max(layer.get(edge.to), layer.get(name) + 1));
    }
  }

  const layers = [];
  for (const name of names) (layers[layer.get(name)] ||= []).push(name);
  const column = new Map();
  for (const members of layers) {
    if (!members) continue;
    const wanted = new Map(
      members.map((name) => {
        const parents = edges.filter((edge) => edge.to === name && !edge.back && column.has(edge.from));
        const mean = parents.length ? parents.reduce((sum, edge) => sum + column.get(edge.from), 0) / parents.length : 0;
        return [name, Math.round(mean * 100) / 100];
      }),
    );
    const ends = (name) => (outgoing.get(name).length === 0 ? 1 : 0);
    members.sort((a, b) => wanted.get(a) - wanted.get(b) || ends(a) - ends(b) || discovered.get(a) - discovered.get(b));
    const placed = [];
    members.forEach((name, index) => placed.push(index ? Math.max(wanted.get(name), placed[index - 1] + 1) : wanted.get(name)));
    const shift = members.reduce((sum, name, index) => sum + wanted.get(name) - placed[index], 0) / members.length;
    members.forEach((name, index) => column.set(name, placed[index] + shift));
  }

  const left = Math.min(...column.values());
  const right = Math.max(...column.values());
  const nodes = names.map((name) => ({
    name,
    type: states[name].Type,
    x: MARGIN + (column.get(name) - left) * SLOT,
    y: MARGIN + layer.get(name) * (NODE_H + GAP_Y),
    width: NODE_W,
    height: NODE_H,
    start: name === definition.StartAt,
  }));
  const depth = Math.max(...layer.values());
  const backEdges = edges.some((edge) => edge.back);
  return {
    nodes,
    edges,
    width: Math.round(2 * MARGIN + (right - left) * SLOT + NODE_W + (backEdges ? 60 : 0)),
    height: 2 * MARGIN + (depth + 1) * NODE_H + depth * GAP_Y,
  };
}

function cubicPoint(p0, p1, p2, p3, t) {
  const u = 1 - t;
  return [
    u ** 3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t ** 3 * p3[0],
    u ** 3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t ** 3 * p3[1],
  ];
}

/** Where each edge leaves and enters: ends spread along the node's side, ordered by the other end's x. */
function edgeGeometry(layout) {
  const byName = new Map(layout.nodes.map((node) => [node.name, node]));
  const spread = (list, key) => {
    list.sort((a, b) => key(a) - key(b));
    return new Map(list.map((edge, index) => [edge, (index - (list.length - 1) / 2) * 16]));
  };
  const outOffsets = new Map();
  const inOffsets = new Map();
  for (const node of layout.nodes) {
    const out = layout.edges.filter((edge) => edge.from === node.name && !edge.back);
    const into = layout.edges.filter((edge) => edge.to === node.name && !edge.back);
    for (const [edge, offset] of spread(out, (edge) => byName.get(edge.to).x)) outOffsets.set(edge, offset);
    for (const [edge, offset] of spread(into, (edge) => byName.get(edge.from).x)) inOffsets.set(edge, offset);
  }
  const placed = layout.nodes.map((node) => ({ x: node.x, y: node.y, w: node.width, h: node.height }));
  return layout.edges.map((edge) => {
    const source = byName.get(edge.from);
    const target = byName.get(edge.to);
    let path;
    if (edge.back) {
      const start = [source.x + source.width, source.y + source.height / 2];
      const end = [target.x + target.width, target.y + target.height / 2];
      const bulge = Math.max(start[0], end[0]) + 50;
      path = [start, [bulge, start[1]], [bulge, end[1]], end];
    } else {
      const start = [source.x + source.width / 2 + outOffsets.get(edge), source.y + source.height];
      const end = [target.x + target.width / 2 + inOffsets.get(edge), target.y];
      const bend = Math.max(GAP_Y / 2, (end[1] - start[1]) / 2);
      path = [start, [start[0], start[1] + bend], [end[0], end[1] - bend], end];
    }
    return { edge, path, label: edge.label ? placeLabel(edge.label, path, placed) : null };
  });
}

const LABEL_TRIES = [0.62, 0.5, 0.74, 0.38, 0.86, 0.26];

/** A spot along the edge where its label overlaps no node and no label placed before it. */
function placeLabel(text, path, placed) {
  const width = text.length * 5.9 + 6;
  const height = 13;
  const boxAt = (t) => {
    const [x, y] = cubicPoint(...path, t);
    return { x: x - width / 2, y: y - height / 2, w: width, h: height, cx: x, cy: y };
  };
  const overlaps = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  const box = LABEL_TRIES.map(boxAt).find((candidate) => !placed.some((other) => overlaps(candidate, other))) || boxAt(LABEL_TRIES[0]);
  placed.push(box);
  return [box.cx, box.cy];
}

let graphCount = 0;

/**
 * The SVG for a layout. outcomes: Map state name → {kind, label, detail}; kind is one of
 * succeeded, retried, caught, failed, running, skipped. taken: Set of "from→to" strings.
 */
export function renderGraph(layout, { outcomes = new Map(), taken = new Set(), title = "Workflow" } = {}) {
  graphCount += 1;
  const marker = (kind) => `cq-arrow-${kind}-${graphCount}`;
  const describe = layout.nodes
    .map((node) => `${node.name}: ${outcomes.get(node.name)?.label || "not reached"}`)
    .join("; ");

  const edges = edgeGeometry(layout).map(({ edge, path, label }) => {
    const isTaken = taken.has(`${edge.from}→${edge.to}`);
    const [p0, p1, p2, p3] = path;
    return svg("g", { class: `edge edge-${edge.kind}${isTaken ? " taken" : ""}`, "data-from": edge.from, "data-to": edge.to },
      svg("path", {
        d: `M${p0[0]},${p0[1]} C${p1[0]},${p1[1]} ${p2[0]},${p2[1]} ${p3[0]},${p3[1]}`,
        "marker-end": `url(#${marker(isTaken ? "taken" : "idle")})`,
      }),
      label ? svg("text", { class: "edge-label", x: label[0], y: label[1] + 3.5, "text-anchor": "middle" }, edge.label) : null,
    );
  });

  const nodes = layout.nodes.map((node) => {
    const outcome = outcomes.get(node.name) || { kind: "skipped", label: "not reached", detail: "" };
    return svg("g", {
      class: `node outcome-${outcome.kind}${node.start ? " start" : ""}`,
      "data-state": node.name,
      "data-outcome": outcome.kind,
      transform: `translate(${node.x},${node.y})`,
    },
      svg("title", null, [`${node.name} (${node.type}): ${outcome.label}`, outcome.detail].filter(Boolean).join("\n")),
      svg("rect", { width: node.width, height: node.height, rx: node.type === "Choice" ? 28 : 9 }),
      svg("text", { class: "node-name", x: node.width / 2, y: 22, "text-anchor": "middle" }, node.name),
      svg("text", { class: "node-type", x: node.width / 2, y: 37, "text-anchor": "middle" }, node.type),
      svg("text", { class: "node-outcome", x: node.width / 2, y: 52, "text-anchor": "middle" }, outcome.label),
    );
  });

  const arrow = (kind) =>
    svg("marker", { id: marker(kind), viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", class: `arrow-${kind}` }));

  const titleId = `cq-graph-title-${graphCount}`;
  const descId = `cq-graph-desc-${graphCount}`;
  return svg("svg", {
    class: "workflow-graph",
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    width: layout.width,
    height: layout.height,
    role: "img",
    "aria-labelledby": `${titleId} ${descId}`,
  },
    svg("title", { id: titleId }, title),
    svg("desc", { id: descId }, describe),
    svg("defs", null, arrow("idle"), arrow("taken")),
    svg("g", { class: "edges" }, edges),
    svg("g", { class: "nodes" }, nodes),
  );
}

/** In a graph wider than its scroll box (a phone), scroll so that the start state is in view. */
export function revealStart(scrollBox) {
  const start = scrollBox.querySelector(".node.start");
  if (!start || scrollBox.scrollWidth <= scrollBox.clientWidth) return;
  const box = start.getBoundingClientRect();
  const frame = scrollBox.getBoundingClientRect();
  scrollBox.scrollLeft += box.left + box.width / 2 - (frame.left + frame.width / 2);
}
