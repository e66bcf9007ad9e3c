#!/bin/sh
# image-help.sh - the socketlab image's default command: say what is inside and how to run it.
# Installed as /usr/local/bin/socketlab-help by the Dockerfile.
cat <<'HELP'
socketlab: the TCP socket lessons, one directory per lesson:
HELP
for dir in /opt/socketlab/[0-9][0-9]-*/; do
    printf '  %s%s\n' "$dir" "$(cd "$dir" && ls | tr '\n' ' ')"
done
cat <<'HELP'

Run the final lesson's server and client on a Docker network:
  docker network create lab
  docker run --rm -d --name server --network lab socketlab server 5005
  docker run --rm --network lab socketlab client -n 3 server 5005
  docker network rm lab
Any lesson: docker run --rm socketlab /opt/socketlab/05-send-recv/server --help
Or, from the repo: docker compose up   (LESSON, COUNT, INTERVAL choose what runs)
A slow link: docker compose --profile slow up  (tc netem, or slowlink where there is no netem)
HELP
