"""Electronic signature of documents (see services.py). pyHanko imports cryptography's DSA, which cryptography
flags as deprecated at import: that warning says nothing to our users, so it is silenced here, before pades.py
imports pyHanko (the commands would print it on every run)."""
import warnings

from cryptography.utils import CryptographyDeprecationWarning

warnings.filterwarnings("ignore", message=".*DSA.*", category=CryptographyDeprecationWarning)
