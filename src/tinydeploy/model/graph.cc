// placeholder, replaced by the reader work
