# mk/timeline.mk - `make timeline`: one run of a lesson, drawn on one clock.
#
#   make timeline                         lesson 06 on loopback -> build/timeline/06-close.html
#   make timeline LESSON=05               (or LESSON=05-send-recv)
#   make timeline NETEM="delay 50ms loss 10%"   through network namespaces with tc netem
#                                         -> build/timeline/06-close-netem-delay50ms-loss10pct.html
#   make timeline DROP=2                  the client's 2nd data packet lost once: a retransmission
#                                         -> build/timeline/06-close-drop2.html
#   make timeline COUNT=1000 INTERVAL=0   many messages (the page zooms and scrolls)
#   make timeline LESSON=05 PEER=upload   a Python client: one big upload (Nagle)
#   make timeline LESSON=05 PEER=pieces   two small replies per request: Nagle + delayed ACK
#   make timeline LESSON=05 PEER=burst    a Python client: messages back to back (glued)
#   make timeline-all                     every lesson, into build/timeline/
#
# tools/timeline runs the server and client with --json traces and tcpdump on
# their port, watches their sockets a moment after both exit (TIME_WAIT), then
# writes one self-contained HTML page and prints its path (tools/timeline
# --lang zh for the page in Chinese).
# Packets need root and tcpdump (apt-get install tcpdump); NETEM and DROP need
# root, iproute2 and nftables. Without them the page still has the calls.

TIMELINE_LESSON   = $(or $(LESSON),06-close)
TIMELINE_ARGS     = --build $(BUILD) $(if $(COUNT),-n $(COUNT)) $(if $(INTERVAL),-i $(INTERVAL)) \
                    $(if $(NETEM),--netem "$(NETEM)") $(if $(DROP),--drop $(DROP)) \
                    $(if $(PEER),--peer $(PEER)) $(if $(BYTES),--bytes $(BYTES))

.PHONY: timeline timeline-all
timeline: all
	$(Q)python3 tools/timeline $(TIMELINE_ARGS) --lesson $(TIMELINE_LESSON)

timeline-all: all
	$(Q)for l in $(LESSONS); do python3 tools/timeline $(TIMELINE_ARGS) --lesson $$l || exit 1; done
