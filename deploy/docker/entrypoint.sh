#!/bin/sh
# Entry point of the concierge-ops images: for each variable NAME_TOKEN_FILE or NAME_SECRET_FILE (and
# DATABASE_URL_FILE) set to a path, sets NAME_TOKEN or NAME_SECRET (DATABASE_URL) to the file's contents, as the
# official postgres image does with its *_FILE variables. So a secret or volume can hold what a service reads
# from its environment, and compose needs no secret in a variable. Other *_FILE variables
# (AUDIT_SIGNING_KEY_FILE) are paths the services read themselves and are left alone.
set -eu
for name in $(env | sed -n 's/^\([A-Z0-9_]*_TOKEN\)_FILE=.*/\1/p; s/^\([A-Z0-9_]*_SECRET\)_FILE=.*/\1/p; s/^\(DATABASE_URL\)_FILE=.*/\1/p'); do
  file=$(printenv "${name}_FILE")
  if [ ! -r "$file" ]; then
    echo "${name}_FILE: cannot read $file" >&2
    exit 2
  fi
  # $(...) drops the trailing newline an editor or echo leaves.
  value=$(cat "$file")
  export "$name=$value"
  unset "${name}_FILE"
done
exec "$@"
