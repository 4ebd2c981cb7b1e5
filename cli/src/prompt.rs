//! Asking the person at the terminal: one function for secrets (password, PIN), one for yes/no.

use std::io::{BufRead, Write};

use zeroize::Zeroizing;

use crate::failure::Failure;

/// A secret from the first line of standard input, or from a prompt that does not echo. The text
/// lives only in zeroed memory.
pub fn secret(from_stdin: bool, prompt: &str) -> Result<Zeroizing<String>, Failure> {
    let text = Zeroizing::new(if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::with_detail("input", e.to_string()))?;
        line
    } else {
        rpassword::prompt_password(prompt)
            .map_err(|e| Failure::with_detail("input", e.to_string()))?
    });
    Ok(Zeroizing::new(
        text.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

/// Asks a yes/no question on stderr; only an explicit yes is yes.
pub fn ask(question: &str) -> bool {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok() && client::messages::is_yes(&answer)
}
