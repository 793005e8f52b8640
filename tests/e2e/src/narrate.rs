//! Prints the demo as numbered steps: a title, indented detail lines, and a closing tick
//! (or cross). Colour only when stdout is a terminal, so logs and pipes stay plain.

use std::io::{IsTerminal, Write};

/// Writes the demo's narration to stdout.
pub struct Narrator {
    colour: bool,
    step: usize,
    passed: usize,
}

impl Default for Narrator {
    fn default() -> Self {
        Self::new()
    }
}

impl Narrator {
    pub fn new() -> Self {
        Self {
            colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            step: 0,
            passed: 0,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn print(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    pub fn banner(&self, text: &str) {
        self.print(&self.paint("1", text));
    }

    /// Opens the next numbered step.
    pub fn step(&mut self, title: &str) {
        self.step += 1;
        self.print("");
        let number = format!("{:>2}.", self.step);
        self.print(&format!(
            "{} {}",
            self.paint("1;36", &number),
            self.paint("1", title)
        ));
    }

    /// A line of evidence under the current step.
    pub fn detail(&self, text: impl AsRef<str>) {
        for line in text.as_ref().lines() {
            self.print(&format!("    {}", self.paint("2", line)));
        }
    }

    /// The step held: what it proves.
    pub fn proved(&mut self, text: impl AsRef<str>) {
        self.passed += 1;
        self.print(&format!("    {} {}", self.paint("32", "✔"), text.as_ref()));
    }

    /// The step did not hold.
    pub fn failed(&self, text: impl AsRef<str>) {
        self.print(&format!("    {} {}", self.paint("31", "✘"), text.as_ref()));
    }

    pub fn steps_passed(&self) -> usize {
        self.passed
    }

    pub fn steps_started(&self) -> usize {
        self.step
    }
}
