//! A progress bar on stderr for long work (bulk add), drawn only when stderr is a terminal so
//! that logs and pipes stay clean.

/// The bar; nothing at all when stderr is not a terminal.
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    /// A bar whose lines read `<bar> <done>/<total> <verb> <item>`.
    pub fn new(verb: &str) -> Progress {
        use std::io::IsTerminal as _;
        Progress(std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
                "{{bar:30}} {{pos}}/{{len}} {verb} {{wide_msg}}"
            )) {
                bar.set_style(style);
            }
            bar
        }))
    }

    /// `done` of `total` finished, working on `item`.
    pub fn update(&mut self, done: usize, total: usize, item: &str) {
        if let Some(bar) = &self.0 {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message(item.to_owned());
            if done == total {
                bar.finish_and_clear();
            }
        }
    }
}
