//! The `manual` driver: a person opens the URL; the browser's request to the loopback
//! redirect URI is the callback.

use std::time::Duration;

use super::reported::{Reported, origin_of};

/// Prints the URL for a person and waits for the browser's request to the redirect URI.
pub(super) async fn wait_for_browser(
    url: &str,
    redirect_uri: &str,
    listener: Option<&std::net::TcpListener>,
    timeout: Duration,
) -> Reported {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = listener.ok_or("the manual driver needs the loopback redirect port, which could not be bound")?;
    let listener = listener.try_clone().map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
    eprintln!(
        "\nOpen this URL in a browser and complete the authorization ({} s):\n  {url}\n",
        timeout.as_secs()
    );
    let accept = async {
        let (mut stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let mut head = vec![0u8; 8192];
        let n = stream.read(&mut head).await.map_err(|e| e.to_string())?;
        let head = String::from_utf8_lossy(&head[..n]).into_owned();
        let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let page = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nAuthorization received; you can close this window.\n";
        let _ = stream.write_all(page.as_bytes()).await;
        Ok::<_, String>(target)
    };
    let target = tokio::time::timeout(timeout, accept)
        .await
        .map_err(|_| format!("no browser reached the redirect URI within {} s", timeout.as_secs()))??;
    let origin = origin_of(redirect_uri).ok_or("invalid redirect URI")?;
    Ok(Some(format!("{origin}{target}")))
}
