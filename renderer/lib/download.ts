/**
 * Saves text as a file through the browser's download (Electron's window and the browser harness
 * both have one): a link to a blob, clicked. The link is in the document while it is clicked, as
 * some engines need; the blob is released a minute later, since the download may still be reading
 * it when click() returns.
 */
export function saveAsDownload(fileName: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
