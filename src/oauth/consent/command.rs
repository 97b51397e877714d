//! The `command` driver: a program gets the authorization URL and prints the callback URL.

use std::time::Duration;

use super::reported::Reported;

pub(super) async fn run_command(argv: &[String], url: &str, timeout: Duration) -> Reported {
    let (program, args) = argv.split_first().ok_or("the consent command is empty")?;
    let child = tokio::process::Command::new(program)
        .args(args)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(timeout, child).await {
        Err(_) => {
            return Err(format!(
                "the consent command gave no answer within {} s",
                timeout.as_secs()
            ));
        }
        Ok(Err(e)) => return Err(format!("cannot run the consent command `{program}`: {e}")),
        Ok(Ok(output)) => output,
    };
    if !output.status.success() {
        return Err(format!("the consent command failed ({})", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned))
}
