//! WebKitGTK settings Tauri does not expose, set on the window's webview once it exists.

/// Sets WebKit's caches to the smallest model, the one for a single local document
/// (`WEBKIT_CACHE_MODEL_DOCUMENT_VIEWER`: no page cache, a memory cache sized for one page): the
/// app is one page from its own bundle that never navigates (BENCHMARKS.md, memory).
///
/// Hardware acceleration stays on, though most of the memory under Xvfb is its (GL through
/// Mesa's LLVM rasteriser, compositing buffers): turned off, by
/// `HardwareAccelerationPolicy::Never` or `WEBKIT_DISABLE_COMPOSITING_MODE=1`, the app took
/// 68 MiB less, but WebKitWebDriver's screenshots of the window never came back (WebKitGTK
/// 2.50), so the desktop tests could no longer show what a person sees.
pub fn lean(app: &tauri::App) {
    #[cfg(target_os = "linux")]
    {
        use tauri::Manager;
        use webkit2gtk::{WebContextExt, WebViewExt};
        for window in app.webview_windows().into_values() {
            let _ = window.with_webview(|webview| {
                if let Some(context) = webview.inner().context() {
                    context.set_cache_model(webkit2gtk::CacheModel::DocumentViewer);
                }
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = app;
}
