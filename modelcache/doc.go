// Package modelcache keeps downloaded models in a cache folder and fetches
// them from a Hugging Face-style hub, as 'ollama pull' and 'llama-cli
// --hf-repo' do.
//
// A model is named "OWNER/REPO/FILE.gguf" (FILE may have folders) and
// lives at DIR/OWNER/REPO/FILE.gguf, DIR being $MRUN_CACHE, else
// $XDG_CACHE_HOME/metalgraph (~/.cache/metalgraph). Pull asks the hub's
// resolve URL (BASE/OWNER/REPO/resolve/main/FILE) for the file's metadata
// without following the redirect, because that answer carries the LFS
// object's sha256 (X-Linked-Etag, else ETag) and size; it then downloads
// into FILE.gguf.partial, resuming with a Range request what an earlier or
// dropped download left (a few retries within one Pull), checks the size
// and the sha256 of the whole file and renames it into place, so a cached
// name is always a complete, verified file. A file whose checksum does not
// match is deleted, never kept.
package modelcache
