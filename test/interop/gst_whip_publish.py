#!/usr/bin/python3
"""A WHIP publisher (RFC 9725) built from GStreamer's webrtcbin, as a customer would write one.

Usage: /usr/bin/python3 gst_whip_publish.py <whip url> <participant token> <seconds>

Publishes H.264 (x264enc, constrained baseline, a keyframe every 30 frames) from videotestsrc
and Opus from audiotestsrc. It offers with every candidate gathered (no trickle), POSTs the
offer as application/sdp with the token as a Bearer credential, expects 201 Created, applies
the answer, streams for <seconds> once connected and leaves with DELETE <Location>.

Prints "published <Location>" on stdout after the 201, "connected" once the peer connection
is up, and exits 0 after a clean run; any failure is printed on stderr and exits non-zero.
Needs Debian's python3-gst-1.0, gir1.2-gst-plugins-bad-1.0 and the GStreamer plugins
(good, bad, ugly, nice): run it with /usr/bin/python3.
"""

import sys
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

PIPELINE = """
webrtcbin name=pc bundle-policy=max-bundle
videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1
 ! videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=600
 ! video/x-h264,profile=constrained-baseline ! h264parse
 ! rtph264pay pt=102 config-interval=-1 aggregate-mode=zero-latency
 ! application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000 ! pc.
audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc
 ! rtpopuspay pt=111
 ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! pc.
"""


def fail(loop, state, message):
    print("gst_whip_publish: " + message, file=sys.stderr, flush=True)
    state["rc"] = 1
    loop.quit()


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    url, token, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    Gst.init(None)
    missing = [n for n in ("webrtcbin", "x264enc", "opusenc", "rtph264pay", "rtpopuspay", "nicesrc")
               if Gst.ElementFactory.find(n) is None]
    if missing:
        print("gst_whip_publish: missing GStreamer elements: " + ", ".join(missing), file=sys.stderr)
        return 3

    pipe = Gst.parse_launch(PIPELINE)
    pc = pipe.get_by_name("pc")
    loop = GLib.MainLoop()
    state = {"rc": 0, "location": None, "connected": False}

    def on_bus(_bus, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            fail(loop, state, "pipeline error: %s (%s)" % (err.message, dbg))
        return True

    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_bus)

    def post_offer():
        offer = pc.get_property("local-description").sdp.as_text()
        req = urllib.request.Request(url, data=offer.encode(), method="POST", headers={
            "Content-Type": "application/sdp", "Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status, answer = resp.status, resp.read().decode()
                location = resp.headers.get("Location")
        except urllib.error.HTTPError as e:
            return fail(loop, state, "POST %s: %d %s" % (url, e.code, e.read().decode(errors="replace")))
        except OSError as e:
            return fail(loop, state, "POST %s: %s" % (url, e))
        if status != 201:
            return fail(loop, state, "POST %s: %d, want 201" % (url, status))
        if location:
            state["location"] = urllib.parse.urljoin(url, location)
        print("published %s" % state["location"], flush=True)
        _, msg = GstSdp.SDPMessage.new_from_text(answer)
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        pc.emit("set-remote-description", desc, Gst.Promise.new())

    def on_gathering(_pc, _pspec):
        if pc.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE \
                and not state.get("posted"):
            state["posted"] = True
            GLib.idle_add(post_offer)

    def on_connection(_pc, _pspec):
        st = pc.get_property("connection-state")
        if st == GstWebRTC.WebRTCPeerConnectionState.CONNECTED and not state["connected"]:
            state["connected"] = True
            print("connected", flush=True)
            GLib.timeout_add(int(seconds * 1000), loop.quit)
        elif st == GstWebRTC.WebRTCPeerConnectionState.FAILED:
            fail(loop, state, "peer connection failed")

    def on_offer(promise):
        reply = promise.get_reply()
        offer = reply.get_value("offer")
        pc.emit("set-local-description", offer, Gst.Promise.new())

    def on_negotiation_needed(_pc):
        pc.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer))

    pc.connect("notify::ice-gathering-state", on_gathering)
    pc.connect("notify::connection-state", on_connection)
    pc.connect("on-negotiation-needed", on_negotiation_needed)

    # A publisher only sends.
    for i in range(2):
        tr = pc.emit("get-transceiver", i)
        if tr is not None:
            tr.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)

    def give_up():
        if not state["connected"]:
            fail(loop, state, "not connected within 20 s")
        return False

    GLib.timeout_add_seconds(20, give_up)
    pipe.set_state(Gst.State.PLAYING)
    loop.run()
    pipe.set_state(Gst.State.NULL)

    if state["location"]:
        req = urllib.request.Request(state["location"], method="DELETE",
                                     headers={"Authorization": "Bearer " + token})
        try:
            urllib.request.urlopen(req, timeout=10).close()
        except (urllib.error.HTTPError, OSError) as e:
            print("gst_whip_publish: DELETE %s: %s" % (state["location"], e), file=sys.stderr)
            state["rc"] = state["rc"] or 1
    return state["rc"]


if __name__ == "__main__":
    sys.exit(main())
