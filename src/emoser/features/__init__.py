"""Views of the audio: MFCC frames, openSMILE functionals, voice-encoder statistics.
May import: core, params, compute, corpora, audio."""
