"""timeline_lib - draw one run of a server and a client on one clock.

The pieces, each one idea:
  pcap.py     read a pcap file (tcpdump's) into TCP packets, with no library
  capture.py  start and stop tcpdump; the network namespaces for NETEM runs
  run.py      run the two programs with JSON traces, capture their port
  model.py    put calls, kernel states and packets on one timeline
  page.py     write the self-contained HTML page
The command line is tools/timeline.
"""
