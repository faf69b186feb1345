#!/usr/bin/env bash
# Regenerates the audio fixtures of AudioFilesTest in this folder (each well under 60 KB):
#   tone_16k_mono.{wav,flac,mp3}    0.5 s of 440 Hz + 1320 Hz, mono, 16-bit, 16 kHz (the MP3 is MPEG-2 Layer III,
#                                   64 kbit/s CBR, no tags: it starts with LAME's "Info" frame)
#   tone_44k_stereo.{wav,flac,mp3}  0.3 s, 440 Hz left and 1320 Hz right, 16-bit, 44.1 kHz (the MP3 is MPEG-1
#                                   Layer III, 128 kbit/s CBR, with ID3v2 and ID3v1 tags)
# The WAVs are the sources; the FLACs are lossless copies of them; the MP3s are lossy.
# Made with Debian's packages (apt-get install -y sox flac lame):
#   SoX v14.4.2, flac 1.4.2, LAME 3.100
# Dither is off (-D) so the WAVs come out the same on every run; FLAC gets no padding block, to stay small.
set -euo pipefail
cd "$(dirname "$0")"

sox -D -n -r 16000 -b 16 -c 1 tone_16k_mono.wav synth 0.5 sine 440 synth 0.5 sine mix 1320 gain -n -6 fade 0.01 0.5 0.01
sox -D -n -r 44100 -b 16 -c 2 tone_44k_stereo.wav synth 0.3 sine 440 sine 1320 gain -n -6 fade 0.01 0.3 0.01

for f in tone_16k_mono tone_44k_stereo; do
  flac --silent --best --no-padding -f -o "$f.flac" "$f.wav"
done

lame --silent --noreplaygain -b 64 tone_16k_mono.wav tone_16k_mono.mp3
lame --silent --noreplaygain -b 128 --add-id3v2 --tt "higgs4j fixture" tone_44k_stereo.wav tone_44k_stereo.mp3

ls -l tone_*
