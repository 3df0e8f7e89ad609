"""State: what the pipeline keeps between runs (the archive of received files and its
journal, checksums of inputs). Never under the published output."""
