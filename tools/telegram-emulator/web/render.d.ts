// Types of render.js (plain JavaScript, served to the browser as is), for the TypeScript tests.
import type { MessageEntity } from '../src/types';

export interface RenderElement {
  tag: string;
  attrs: Record<string, string>;
  children: RenderNode[];
}
export type RenderNode = string | RenderElement;

/** The minimum of `document` toDom uses. */
export interface DomFactory<N> {
  createDocumentFragment(): N & { appendChild(child: N): unknown };
  createElement(tag: string): N & { appendChild(child: N): unknown; setAttribute(name: string, value: string): void };
  createTextNode(text: string): N;
}

export const ALLOWED_TAGS: readonly string[];
export function escapeHtml(text: string): string;
export function safeHref(raw: unknown): string | null;
export function entitiesToTree(text: unknown, entities: unknown): RenderNode[];
export function toHtml(nodes: readonly RenderNode[]): string;
export function toDom<N>(nodes: readonly RenderNode[], doc: DomFactory<N>): N;
export function messageHtml(message: { text?: string; entities?: MessageEntity[] } | undefined): string;
export const MAX_MESSAGE_LENGTH: number;
export function splitMessage(text: string, limit?: number): string[];
export function buttonLabel(text: string): string | null;
