// The app's AppDelegate (React Native's Objective-C++ template, RCTAppDelegate), which also
// receives PushKit's callbacks: react-native-voip-push-notification's voipRegistration makes the
// application delegate the PKPushRegistry's delegate.
#import <PushKit/PushKit.h>
#import <RCTAppDelegate.h>
#import <UIKit/UIKit.h>

@interface AppDelegate : RCTAppDelegate <PKPushRegistryDelegate>

@end
