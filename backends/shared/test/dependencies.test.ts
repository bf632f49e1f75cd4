/**
 * Cycle detection over the dependency graph (contract v2 §1, `blocked_by`).
 * Run with: bun test backends/shared
 */
import { expect, test } from "bun:test";
import { findCycle } from "../src/dependencies.ts";

const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));

test("an acyclic graph has no cycle", () => {
  expect(findCycle(graph({ a: ["b", "c"], b: ["c"], c: [] }))).toEqual([]);
});

test("two tasks blocking each other are a cycle", () => {
  expect(findCycle(graph({ a: ["b"], b: ["a"] })).sort()).toEqual(["a", "b"]);
});

test("a task blocking itself is a cycle", () => {
  expect(findCycle(graph({ a: ["a"] }))).toEqual(["a"]);
});

test("only the tasks on the cycle are reported", () => {
  expect(findCycle(graph({ x: ["a"], a: ["b"], b: ["c"], c: ["a"], y: [] })).sort()).toEqual(["a", "b", "c"]);
});

test("edges to tasks without their own entry are followed safely", () => {
  expect(findCycle(graph({ a: ["missing"] }))).toEqual([]);
});

test("a chain of 20,000 tasks is checked without overflowing the stack", () => {
  const edges: Record<string, string[]> = {};
  for (let i = 0; i < 20_000; i++) edges[`t${i}`] = [`t${i + 1}`];
  expect(findCycle(graph(edges))).toEqual([]);
});

test("a cycle closing a long chain is found", () => {
  const edges: Record<string, string[]> = {};
  for (let i = 0; i < 20_000; i++) edges[`t${i}`] = [`t${(i + 1) % 20_000}`];
  expect(findCycle(graph(edges)).length).toBe(20_000);
});
