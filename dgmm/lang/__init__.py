"""Language directories: lexicons, prepare_lang, n-gram LMs."""
