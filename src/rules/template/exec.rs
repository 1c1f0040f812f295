//! Execution: walks the node tree with the variable stack, evaluates pipelines (the previous
//! command's result becomes the last argument) and writes the output.
//!
//! Uses `parser` (the tree), `value`, `functions`.

use super::functions::call;
use super::parser::{Node, Operand, Pipe, Template, Term};
use super::value::{field, Env, Val};

impl Template {
    /// Runs the template with `dot` as `.` and the given variables.
    pub fn execute(
        &self,
        dot: &Val,
        vars: &[(&str, Val)],
        env: &Env<'_>,
    ) -> Result<String, String> {
        let mut ex = Exec {
            vars: std::iter::once(("$".to_string(), dot.clone()))
                .chain(vars.iter().map(|(k, v)| (k.to_string(), v.clone())))
                .collect(),
            env,
            name: &self.name,
            out: String::new(),
        };
        ex.nodes(&self.nodes, dot)?;
        Ok(ex.out)
    }
}

struct Exec<'a> {
    vars: Vec<(String, Val)>,
    env: &'a Env<'a>,
    name: &'a str,
    out: String,
}

impl Exec<'_> {
    fn err(&self, line: usize, msg: impl std::fmt::Display) -> String {
        format!(
            "template: {}:{line}: executing {:?}: {msg}",
            self.name, self.name
        )
    }

    fn nodes(&mut self, nodes: &[Node], dot: &Val) -> Result<(), String> {
        for n in nodes {
            match n {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(p, line) => {
                    let v = self.pipe(p, dot, *line)?;
                    if p.decl.is_empty() {
                        v.print(&mut self.out);
                    }
                }
                Node::If(p, then, els, line) => {
                    let mark = self.vars.len();
                    let v = self.pipe(p, dot, *line)?;
                    let r = self.nodes(if v.truth() { then } else { els }, dot);
                    self.vars.truncate(mark);
                    r?;
                }
                Node::With(p, then, els, line) => {
                    let mark = self.vars.len();
                    let v = self.pipe(p, dot, *line)?;
                    let r = if v.truth() {
                        self.nodes(then, &v)
                    } else {
                        self.nodes(els, dot)
                    };
                    self.vars.truncate(mark);
                    r?;
                }
                Node::Range(p, body, els, line) => {
                    let mark = self.vars.len();
                    let decl = p.decl.clone();
                    let plain = Pipe {
                        decl: Vec::new(),
                        assign: false,
                        cmds: p.cmds.clone(),
                    };
                    let v = self.pipe(&plain, dot, *line)?;
                    let items: Vec<(Val, Val)> = match &v {
                        Val::Map(m) => m
                            .iter()
                            .map(|(k, v)| (Val::Str(k.clone()), Val::Str(v.clone())))
                            .collect(),
                        Val::AnyMap(m) => m
                            .iter()
                            .map(|(k, v)| (Val::Str(k.clone()), v.clone()))
                            .collect(),
                        Val::Samples(s) => s
                            .iter()
                            .enumerate()
                            .map(|(i, x)| (Val::Int(i as i64), Val::Sample(x.clone())))
                            .collect(),
                        Val::Int(n) => (0..*n).map(|i| (Val::Int(i), Val::Int(i))).collect(),
                        Val::Nil => Vec::new(),
                        other => {
                            return Err(self.err(
                                *line,
                                format!("range can't iterate over {}", other.to_display()),
                            ))
                        }
                    };
                    if items.is_empty() {
                        self.nodes(els, dot)?;
                    }
                    for (k, item) in items {
                        let inner = self.vars.len();
                        match decl.as_slice() {
                            [v] => self.vars.push((v.clone(), item.clone())),
                            [kv, vv] => {
                                self.vars.push((kv.clone(), k));
                                self.vars.push((vv.clone(), item.clone()));
                            }
                            _ => {}
                        }
                        let r = self.nodes(body, &item);
                        self.vars.truncate(inner);
                        r?;
                    }
                    self.vars.truncate(mark);
                }
            }
        }
        Ok(())
    }

    fn pipe(&mut self, p: &Pipe, dot: &Val, line: usize) -> Result<Val, String> {
        let mut last: Option<Val> = None;
        for cmd in &p.cmds {
            last = Some(self.command(cmd, dot, last, line)?);
        }
        let v = last.unwrap_or(Val::Nil);
        for name in &p.decl {
            if p.assign {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = v.clone();
                }
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn command(
        &mut self,
        cmd: &[Operand],
        dot: &Val,
        last: Option<Val>,
        line: usize,
    ) -> Result<Val, String> {
        let first = &cmd[0];
        if let Term::Func(f) = &first.term {
            let mut args = Vec::with_capacity(cmd.len());
            for op in &cmd[1..] {
                args.push(self.operand(op, dot, line)?);
            }
            args.extend(last);
            return self
                .call(f, args)
                .map_err(|e| self.err(line, format!("error calling {f}: {e}")));
        }
        if cmd.len() > 1 || last.is_some() {
            return Err(self.err(
                line,
                format!("can't give argument to non-function {}", describe(first)),
            ));
        }
        self.operand(first, dot, line)
    }

    fn operand(&mut self, op: &Operand, dot: &Val, line: usize) -> Result<Val, String> {
        let mut v = match &op.term {
            Term::Dot => dot.clone(),
            Term::Var(name) => self
                .vars
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| self.err(line, format!("undefined variable: {name}")))?,
            Term::Const(c) => c.clone(),
            Term::Pipe(p) => self.pipe(p, dot, line)?,
            Term::Func(f) => self
                .call(f, Vec::new())
                .map_err(|e| self.err(line, format!("error calling {f}: {e}")))?,
        };
        for f in &op.fields {
            v = field(&v, f).map_err(|e| self.err(line, e))?;
        }
        Ok(v)
    }

    fn call(&mut self, f: &str, args: Vec<Val>) -> Result<Val, String> {
        call(f, args, self.env)
    }
}

fn describe(op: &Operand) -> String {
    let base = match &op.term {
        Term::Dot => ".".to_string(),
        Term::Var(v) => v.clone(),
        Term::Const(c) => c.to_display(),
        Term::Pipe(_) => "(...)".to_string(),
        Term::Func(f) => f.clone(),
    };
    if op.fields.is_empty() {
        base
    } else {
        let path: String = op.fields.iter().map(|f| format!(".{f}")).collect();
        if base == "." {
            path
        } else {
            format!("{base}{path}")
        }
    }
}
