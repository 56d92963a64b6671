"""A small LALR(1) driver for the tables Lark computes from ``grammars/cgcli.lark``.

Lark reads the grammar and builds the LALR tables; :func:`export_tables` turns them into
plain data (terminals, states, and per rule which children to keep), written once into the
generated module ``_parser_tables.py``. At run time :class:`Parser` drives those tables with
one compiled regular expression and a loop: no ``import lark``, no grammar compilation, no
parse tree. That keeps start-up short and parsing a few microseconds per token.

Rule semantics follow Lark's tree builder with ``maybe_placeholders=True``: named terminals
are kept, rules whose name starts with ``_`` are spliced into their parent, ``?rule``s with
one child pass it through, and an omitted ``[optional]`` becomes ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

END = "$END"
SHIFT, REDUCE = 0, 1


#: Finds a terminal at ``text[pos]``: (end, token value) or None.
Matcher = Callable[[str, int], "tuple[int, Any] | None"]


class Token:
    """A terminal: ``type``, its ``value`` (the text, or what a matcher made of it),
    ``start_pos`` and ``end_pos`` (as Lark's)."""

    __slots__ = ("type", "value", "start_pos", "end_pos")

    def __init__(self, type_: str, value: str, start: int, end: int) -> None:
        self.type, self.value, self.start_pos, self.end_pos = type_, value, start, end

    def __str__(self) -> str:
        return self.value if isinstance(self.value, str) else f"<{self.type}>"

    def __repr__(self) -> str:
        return f"Token({self.type!r}, {self.value!r})"


class UnexpectedCharacter(Exception):
    """No terminal matches at ``pos``."""

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.pos = pos


class UnexpectedToken(Exception):
    """``token`` cannot come here; ``expected`` lists the terminals that could."""

    def __init__(self, token: Token, expected: set[str]) -> None:
        super().__init__(token.type)
        self.token, self.expected = token, expected


class Parser:
    """Drives the exported tables; calls ``callbacks[name](children)`` at each reduction."""

    def __init__(self, tables: dict[str, Any],
                 postlex: Callable[[Iterator[Token]], Iterator[Token]] | None = None,
                 matchers: dict[str, tuple[str, Matcher]] | None = None) -> None:
        # A terminal with a matcher is found by the matcher (tried where its first character
        # appears) instead of by its regular expression.
        self.matchers = matchers or {}
        self.pattern = re.compile("|".join(f"(?P<{name}>{rx})" for name, rx in
                                           tables["terminals"] if name not in self.matchers))
        self.triggers = {first: (name, fn) for name, (first, fn) in self.matchers.items()}
        self.ignore = frozenset(tables["ignore"])
        self.states: list[dict[str, tuple[int, int]]] = tables["states"]
        self.rules: list[tuple] = tables["rules"]
        self.start, self.accept = tables["start"], tables["accept"]
        self.postlex = postlex
        self._actions: list[dict[str, int]] | None = None
        self._gotos: list[dict[str, int]] | None = None

    def lex(self, text: str) -> Iterator[Token]:
        """The tokens of ``text``, ignored terminals left out, then ``$END``."""
        ignore, triggers = self.ignore, self.triggers
        pos = 0
        while True:
            restart = False
            for m in self.pattern.finditer(text, pos):
                start, end = m.span()
                if start != pos:  # finditer skipped text that no terminal matches
                    raise UnexpectedCharacter(pos)
                if triggers and text[start] in triggers:
                    name, fn = triggers[text[start]]
                    found = fn(text, start)
                    if found is not None:  # the matcher's terminal wins: go on after it
                        pos, value = found
                        yield Token(name, value, start, pos)
                        restart = True
                        break
                kind = m.lastgroup
                if kind not in ignore:
                    yield Token(kind, m.group(), start, end)  # type: ignore[arg-type]
                pos = end
            if not restart:
                break
        if pos != len(text):
            raise UnexpectedCharacter(pos)
        yield Token(END, "", pos, pos)

    def _compiled(self) -> tuple[list[dict[str, int]], list[dict[str, int]]]:
        """The tables as the loop reads them: per state, terminal -> an int (a target state
        to shift to, or -1 - rule to reduce by), and nonterminal -> the state to go to."""
        if self._actions is None:
            actions: list[dict[str, int]] = []
            gotos: list[dict[str, int]] = []
            for table in self.states:
                act, goto = {}, {}
                for sym, (action, arg) in table.items():
                    if sym.isupper() or sym == END:
                        act[sym] = arg if action == SHIFT else -1 - arg
                    else:
                        goto[sym] = arg
                actions.append(act)
                gotos.append(goto)
            self._actions, self._gotos = actions, gotos
        return self._actions, self._gotos  # type: ignore[return-value]

    def parse(self, text: str, callbacks: Any, postlex: bool = True) -> Any:
        """Parse ``text``; the value of the start rule's reduction is returned.

        ``postlex=False`` skips the postlexer (when the caller knows it would change nothing).
        """
        tokens = self.lex(text)
        if postlex and self.postlex is not None:
            tokens = self.postlex(tokens)
        actions, gotos = self._compiled()
        accept = self.accept
        # Per rule: (origin, size, include, trailing, how, expand1, callback). how: 0 passes
        # its one child through unchanged (chains like ?expr: sum: only the state changes),
        # 1 returns the children as a list for the parent to splice (_rules), 2 calls the
        # builder.
        rules = []
        for origin, size, include, trailing, expand1, inline, name in self.rules:
            how = 0 if (size == 1 and include is None and expand1) else 1 if inline else 2
            # A rule without a callback (like ?expr) always passes its single child through.
            func = getattr(callbacks, name, None) if name is not None else None
            # A list rule (x (, x)*) is left-recursive: its first child is the list built so
            # far, which nothing else holds, so it grows in place (copying it would make n
            # statements or arguments cost n² steps).
            grow = how == 1 and include is not None and include[0] == (0, True, 0)
            rules.append((origin, size, include[1:] if grow else include, trailing, how,
                          expand1, func, grow))
        state = self.start
        state_stack = [state]
        value_stack: list[Any] = []
        push_state, push_value = state_stack.append, value_stack.append
        for tok in tokens:
            kind = tok.type
            while True:
                code = actions[state].get(kind)
                if code is None:
                    raise UnexpectedToken(tok, set(actions[state])) from None
                if code >= 0:  # shift
                    state = code
                    push_state(state)
                    push_value(tok)
                    break
                origin, size, include, trailing, how, expand1, func, grow = rules[-1 - code]
                if how == 0:  # the value on top of the stack stays; only the state changes
                    state_stack.pop()
                    state = gotos[state_stack[-1]][origin]
                    if state == accept and kind == END:
                        return value_stack[-1]
                    push_state(state)
                    continue
                if size:
                    children = value_stack[-size:]
                    del state_stack[-size:]
                    del value_stack[-size:]
                else:
                    children = []
                if include is not None:  # filter, splice and pad the children
                    kept: list[Any] = children[0] if grow else []
                    for i, splice, nones in include:
                        if nones:
                            kept.extend([None] * nones)
                        if splice:
                            kept.extend(children[i])
                        else:
                            kept.append(children[i])
                    if trailing:
                        kept.extend([None] * trailing)
                    children = kept
                if how == 1:
                    value = children
                elif expand1 and len(children) == 1:
                    value = children[0]
                else:
                    value = func(children)  # type: ignore[misc]
                state = gotos[state_stack[-1]][origin]
                if state == accept and kind == END:
                    return value
                push_state(state)
                push_value(value)
        raise AssertionError("the token stream ended without $END")  # pragma: no cover


def export_tables(grammar: str, **options: Any) -> dict[str, Any]:
    """Let Lark build the LALR tables of ``grammar`` and return them as plain data."""
    from lark import Lark

    lark = Lark(grammar, parser="lalr", lexer="basic", maybe_placeholders=True, **options)
    table = lark.parser.parser.parser.parse_table
    rules = list(lark.rules)
    index = {id(r): i for i, r in enumerate(rules)}
    states: list[dict[str, tuple[int, int]]] = [{} for _ in range(len(table.states))]
    for s, actions in table.states.items():
        for sym, (action, arg) in actions.items():
            if action.name == "Shift":
                states[s][str(sym)] = (SHIFT, arg)
            else:
                states[s][str(sym)] = (REDUCE, index[id(arg)])
    (start,) = table.start_states.values()
    (accept,) = table.end_states.values()
    # Lark's basic lexer tries terminals in this order; a regex alternation does the same.
    terminals = sorted(lark.terminals, key=lambda t: (-t.priority, -t.pattern.max_width,
                                                      -len(t.pattern.value), t.name))
    return {
        "terminals": [(t.name, t.pattern.to_regexp()) for t in terminals],
        "ignore": sorted(lark.ignore_tokens),
        "states": states,
        "rules": [_rule(r) for r in rules],
        "start": start,
        "accept": accept,  # reached by the start rule's goto, with $END ahead: done
    }


def _rule(rule: Any) -> tuple:
    """(origin, size, include, trailing Nones, expand1, inline, callback name) of a rule.

    ``include`` is None when the children pass unchanged, else (index, splice, Nones before).
    """
    expansion = rule.expansion
    empty = rule.options.empty_indices
    if empty:  # how many None placeholders go before each child (and after the last)
        counts = [len(ones) for ones in "".join(str(int(b)) for b in empty).split("0")]
    else:
        counts = [0] * (len(expansion) + 1)
    include = []
    for i, sym in enumerate(expansion):
        # cgcli's grammar names every terminal, so all are kept (Lark drops anonymous ones).
        splice = not sym.is_term and sym.name.startswith("_")
        include.append((i, splice, counts[i]))
    trailing = counts[len(expansion)]
    plain = not any(s or n for _, s, n in include) and not trailing
    name = str(rule.origin.name)  # a lark Token: keep plain strings in the tables
    inline = name.startswith("_")
    expand1 = bool(rule.options.expand1) and not rule.alias
    callback = None if inline else str(rule.alias or name)
    return (name, len(expansion), None if plain else include, trailing, expand1, inline,
            callback)
