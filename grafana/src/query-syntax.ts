// Syntax checks of PromQL and LogQL with the grammars Grafana's own editors use. A lezer parser
// always produces a tree; mistakes show up as error nodes, which these functions report.
import { parser as promqlParser } from '@prometheus-io/lezer-promql';
import { parser as logqlParser } from '@grafana/lezer-logql';
import type { Tree } from '@lezer/common';

export interface SyntaxProblem {
  /** Character offset of the error node. */
  from: number;
  /** The text around it. */
  near: string;
}

function errorsIn(tree: Tree, text: string): SyntaxProblem[] {
  const problems: SyntaxProblem[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) problems.push({ from: node.from, near: text.slice(Math.max(0, node.from - 20), node.to + 20) });
    },
  });
  return problems;
}

export function promqlSyntaxErrors(expr: string): SyntaxProblem[] {
  return errorsIn(promqlParser.parse(expr), expr);
}

export function logqlSyntaxErrors(expr: string): SyntaxProblem[] {
  return errorsIn(logqlParser.parse(expr), expr);
}
